package ingest

import (
	"context"
	"slices"
	"strings"

	"github.com/trialwatch/trialwatch/auth"
)

// siteScope is the upload's limit to some sites of study: nil when the
// caller may write every site (a monitor, the import command), else which
// sites it may, and how to say so. To such a caller another site's subject
// is an unknown one, so an upload cannot learn which subjects exist there.
func siteScope(ctx context.Context, study string) (allowed func(site string) bool, who string) {
	id, ok := auth.FromContext(ctx)
	if !ok {
		return nil, ""
	}
	all, sites := id.Sites(study)
	if all {
		return nil, ""
	}
	return func(site string) bool { return slices.Contains(sites, site) },
		"user " + id.Name + " may upload data of site(s) " + strings.Join(sites, ", ") + " only"
}
