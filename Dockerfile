# syntax=docker/dockerfile:1

# Build stage. The tag follows the go directive of go.mod; the build runs
# on the build machine's platform and cross-compiles for the target.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build

WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download

COPY . .
ARG TARGETOS
ARG TARGETARCH
# A static binary needs no C library, so it runs on a distroless base.
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/ghillie ./ghillie \
    && mkdir -p /out/data

# Runtime stage: no shell, no package manager, CA certificates and
# /etc/passwd with the nonroot user (65532) included.
FROM gcr.io/distroless/static-debian12:nonroot

COPY --from=build /out/ghillie /ghillie
# The working directory is owned by the runtime user, so the default
# database URL, sqlite:ghillie.db, is writable and a volume mounted at
# /data takes that owner.
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data

USER 65532:65532
ENV GHILLIE_HOST=0.0.0.0 \
    GHILLIE_PORT=8080
EXPOSE 8080

ENTRYPOINT ["/ghillie"]
CMD ["serve"]
