package sdtm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/sdtm/internal/datasetjson"
	"github.com/trialwatch/trialwatch/sdtm/internal/source"
	"github.com/trialwatch/trialwatch/sdtm/internal/xptfile"
)

const aeColumns = `"columns":[{"itemOID":"IT.STUDYID","name":"STUDYID","dataType":"string"},{"name":"DOMAIN","dataType":"string"},
	{"name":"USUBJID","dataType":"string"},{"name":"AESEQ","dataType":"integer"},{"name":"AETERM","dataType":"string"},
	{"name":"AESTDTC","dataType":"date"}]`

func aeJSON(rows string) string {
	return `{"datasetJSONVersion":"1.1.0",` + aeColumns + `,"rows":[` + rows + `]}`
}

func TestDatasetJSONValues(t *testing.T) {
	// Numbers come as JSON numbers or strings, missing values as null or
	// empty strings; a byte-order mark and unknown attributes are allowed.
	in := "\ufeff" + `{"datasetJSONVersion":"1.1.0","sourceSystem":{"name":"R","version":"4.4"},"records":3,` + aeColumns + `,"rows":[
		["S1","AE","A",1,"HEADACHE","2014-01-02"],
		["S1","AE","A"," 2.0","RASH",null],
		["S1","AE","A",3e0,"FALL",""]],"trailer":[1,{"a":[]}]}`
	var b Batch
	if err := ReadDatasetJSON("ae.json", strings.NewReader(in), "S1", &b); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range b.Events {
		got = append(got, fmt.Sprintf("%d %s %q", e.Seq, e.Term, e.Start))
	}
	if g, w := strings.Join(got, "|"), `1 HEADACHE "2014-01-02"|2 RASH ""|3 FALL ""`; g != w {
		t.Errorf("read %s, want %s", g, w)
	}
}

func TestDatasetJSONRejects(t *testing.T) {
	pilotAE := string(unzip(t, pilotPath("ae", DatasetJSON)))
	cut := pilotAE[:strings.Index(pilotAE, `["CDISCPILOT01","AE","01-701-1023"`)+20]
	for _, c := range []struct{ in, want string }{
		{cut, "ae.json: row 4: unexpected end of file: the JSON is cut short"},
		{pilotAE[:strings.LastIndex(pilotAE, "}")], "ae.json: unexpected end of file: the JSON is cut short"},
		{pilotAE + "{}", "ae.json: data after the end of the Dataset-JSON object at byte 431546"},
		{`{"rows":[["CDISCPILOT01"]],` + aeColumns + `}`, "ae.json: rows come before columns: Dataset-JSON v1.1 puts the columns first so that rows can be streamed"},
		{`{"records":2,` + aeColumns + `,"rows":[["CDISCPILOT01","AE","A",1,"X",""]]}`, "ae.json: records says 2 rows, but rows holds 1"},
		{`{"clinicalData":{}}`, "ae.json: is Dataset-JSON v1.0; trialwatch reads v1.1 (columns and rows at the top level)"},
		{`{"name":"AE"}`, "ae.json: has no columns: not Dataset-JSON v1.1"},
		{`[1,2]`, "ae.json: want a Dataset-JSON object at byte 1, found ["},
		{`{"columns":[{"name":""}],"rows":[]}`, "ae.json: column 1 has no name"},
		{aeJSON(`["CDISCPILOT01","AE","A",1,"X",""],"oops"`), "ae.json: row 2: is oops, want an array of values"},
		{aeJSON(`["CDISCPILOT01","AE","A",{"v":1},"X",""]`), "ae.json: row 1: value 4 is an array or object, want a string, number or null"},
		{aeJSON(`["CDISCPILOT01","AE","A",1.5,"X",""]`), `ae.json: row 1: column AESEQ: "1.5" is not a whole number`},
		{aeJSON(`["CDISCPILOT01","AE","A",1,"X",""] x`), "ae.json: row 2: invalid JSON at byte 341: invalid character 'x' after array element"},
	} {
		wantErrors(t, ReadDatasetJSON("ae.json", strings.NewReader(c.in), pilot, &Batch{}), c.want)
	}
}

// countingReader counts what a reader has taken from its source.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// generated is a large file made on demand: head, n rows, then tail.
func generated(head []byte, n int, row func(i int) []byte, tail []byte) *countingReader {
	i := 0
	var pending []byte
	rows := readerFunc(func(p []byte) (int, error) {
		for len(pending) == 0 {
			if i == n {
				return 0, io.EOF
			}
			pending = row(i)
			i++
		}
		c := copy(p, pending)
		pending = pending[c:]
		return c, nil
	})
	return &countingReader{r: io.MultiReader(bytes.NewReader(head), rows, bytes.NewReader(tail))}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// A reader streams if the first row is at hand long before the file has
// been read, and it goes on to read every row.
func assertStreams(t *testing.T, src source.Records, in *countingReader, n int) {
	t.Helper()
	if _, err := src.Columns(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := src.Next(); err != nil {
		t.Fatal(err)
	}
	if in.n > 256<<10 {
		t.Errorf("took %d bytes to give the first row", in.n)
	}
	rows := 1
	for {
		_, _, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows++
	}
	if rows != n || in.n < 4<<20 {
		t.Errorf("read %d rows of %d bytes, want %d rows of more than 4 MiB", rows, in.n, n)
	}
}

const streamedRows = 200000

func TestDatasetJSONStreams(t *testing.T) {
	in := generated([]byte(`{`+aeColumns+`,"rows":[`), streamedRows, func(i int) []byte {
		row := fmt.Appendf(nil, `["S1","AE","A",%d,"HEADACHE","2014-01-02"]`, i+1)
		if i > 0 {
			row = append([]byte{','}, row...)
		}
		return row
	}, []byte(`]}`))
	assertStreams(t, datasetjson.New("ae.json", in, DefaultLimits.bounds()), in, streamedRows)
}

func TestXPTStreams(t *testing.T) {
	one := xpt(140, xptAE)
	data := bytes.Index(one, []byte(xptfile.ObsHeader)) + xptfile.RecordSize
	const obsLen, seqAt = 21, 5 // "S1" "AE" "A" AESEQ "HEADACHE"
	obs := one[data : data+obsLen]
	in := generated(one[:data], streamedRows, func(i int) []byte {
		row := bytes.Clone(obs)
		binary.BigEndian.PutUint64(row[seqAt:], xptfile.ToIBM(float64(i+1)))
		return row
	}, bytes.Repeat([]byte{' '}, (80-streamedRows*obsLen%80)%80))
	assertStreams(t, xptfile.New("ae.xpt", in, "", DefaultLimits.bounds()), in, streamedRows)
}
