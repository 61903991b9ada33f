package export_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/export"
)

type Inner struct {
	IDs []int64 `json:"ids"`
}

type row struct {
	Name    string          `json:"name"`
	Count   int64           `json:"count"`
	At      time.Time       `json:"at"`
	Note    *string         `json:"note"`
	Payload json.RawMessage `json:"payload"`
	Skipped string          `json:"-"`
	*Inner
}

func TestEncoder(t *testing.T) {
	at := time.Date(2024, 7, 1, 9, 30, 0, 0, time.FixedZone("CEST", 2*3600))
	note := "a, \"quoted\" note"
	full := row{Name: "a", Count: 2, At: at, Note: &note, Payload: json.RawMessage(`{"k":[1]}`),
		Skipped: "x", Inner: &Inner{IDs: []int64{1, 2}}}
	bare := row{Name: "b", At: at, Payload: json.RawMessage(`{}`)}

	tests := []struct {
		name      string
		format    export.Format
		prototype any
		rows      []any
		want      string
	}{
		{"json empty", export.JSON, row{}, nil, "[]\n"},
		{"json", export.JSON, row{}, []any{bare, bare},
			"[\n" + `{"name":"b","count":0,"at":"2024-07-01T09:30:00+02:00","note":null,"payload":{}}` +
				",\n" + `{"name":"b","count":0,"at":"2024-07-01T09:30:00+02:00","note":null,"payload":{}}` +
				"\n]\n"},
		{"jsonl empty", export.JSONLines, row{}, nil, ""},
		{"jsonl", export.JSONLines, row{}, []any{full},
			`{"name":"a","count":2,"at":"2024-07-01T09:30:00+02:00","note":"a, \"quoted\" note",` +
				`"payload":{"k":[1]},"ids":[1,2]}` + "\n"},
		{"csv empty", export.CSV, row{}, nil, "name,count,at,note,payload\n"},
		{"csv nested", export.CSV, row{Inner: &Inner{}}, []any{full},
			"name,count,at,note,payload,ids\n" +
				`a,2,2024-07-01T07:30:00Z,"a, ""quoted"" note","{""k"":[1]}","[1,2]"` + "\n"},
		{"csv null", export.CSV, row{}, []any{bare}, "name,count,at,note,payload\n" +
			"b,0,2024-07-01T07:30:00Z,,{}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			var out bytes.Buffer
			enc, err := export.NewEncoder(&out, tt.format, tt.prototype)
			is.NoErr(err)
			for _, r := range tt.rows {
				is.NoErr(enc.Encode(r))
			}
			is.NoErr(enc.Close())
			is.Equal(out.String(), tt.want)
		})
	}
}

func TestEncoderRejectsNonStructCSV(t *testing.T) {
	is := is.New(t)
	_, err := export.NewEncoder(&bytes.Buffer{}, export.CSV, 42)
	is.True(err != nil)
}
