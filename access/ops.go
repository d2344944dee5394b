package access

import (
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// OpsOnly guards the admin listener's metrics, profiles and leak reports:
// it lets through a request that carries the process's static admin token
// (for processes without the users' database, and for Prometheus) or the
// token of an ops user. Nothing passes when neither is possible.
func OpsOnly(static string, authn Authenticator) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, ok := bearer(r.Header.Get("Authorization"))
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="trialwatch-admin"`)
				jsonhttp.Error(w, http.StatusUnauthorized, "authentication required: send Authorization: Bearer <admin or ops token>")
				return
			}
			if static != "" && subtle.ConstantTimeCompare([]byte(token), []byte(static)) == 1 {
				jsonhttp.SetUser(r.Context(), "(admin-token)") // no user's name: names hold no parentheses
				h.ServeHTTP(w, r)
				return
			}
			if authn != nil {
				id, err := authn.Authenticate(r.Context(), token, time.Now())
				switch {
				case err == nil && id.Role == auth.RoleOps:
					jsonhttp.SetUser(r.Context(), id.Name)
					h.ServeHTTP(w, r)
					return
				case err == nil:
					jsonhttp.SetUser(r.Context(), id.Name)
					jsonhttp.Error(w, http.StatusForbidden, "the admin listener is for the ops role; you are "+string(id.Role))
					return
				}
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="trialwatch-admin"`)
			jsonhttp.Error(w, http.StatusUnauthorized, "invalid credentials")
		})
	}
}
