package ingest

import (
	"context"
	"slices"
	"strings"

	"github.com/trialwatch/trialwatch/auth"
)

// siteScope is the upload's limit to some sites of study: nil when the
// caller may write every site (a monitor, the import command with
// auth.WithSystem), else which sites it may, and how to say so. To such a
// caller another site's subject is an unknown one, so an upload cannot
// learn which subjects exist there. Without an identity it refuses
// (auth.ErrNoIdentity): nobody known is never everybody.
func siteScope(ctx context.Context, study string) (allowed func(site string) bool, who string, err error) {
	id, err := auth.Require(ctx)
	if err != nil {
		return nil, "", err
	}
	all, sites := id.Sites(study)
	if all {
		return nil, "", nil
	}
	return func(site string) bool { return slices.Contains(sites, site) },
		"user " + id.Name + " may upload data of site(s) " + strings.Join(sites, ", ") + " only", nil
}
