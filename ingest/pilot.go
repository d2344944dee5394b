package ingest

import (
	"io"
	"strings"

	"github.com/trialwatch/trialwatch/pilotdata"
	"github.com/trialwatch/trialwatch/sdtm"
)

// PilotFiles are the embedded CDISC pilot study's DM, EX, AE, LB, DS and
// CM as files for IngestFiles, the path `trialwatch import` takes; the
// demo loads them so.
func PilotFiles() []File {
	var files []File
	for _, d := range pilotdata.Domains {
		files = append(files, File{Name: d + ".csv", Format: sdtm.CSV, Domain: strings.ToUpper(d),
			Open: func() (io.ReadCloser, error) { return pilotdata.Open(d) }})
	}
	return files
}
