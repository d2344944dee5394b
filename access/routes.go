package access

import (
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/gen/trialwatch/v1/trialwatchv1connect"
)

var (
	siteAndMonitor = []auth.Role{auth.RoleSite, auth.RoleMonitor}
	monitorOnly    = []auth.Role{auth.RoleMonitor}
	adminOnly      = []auth.Role{auth.RoleAdmin}
	users          = []auth.Role{auth.RoleSite, auth.RoleMonitor, auth.RoleAdmin}
	everyone       = []auth.Role{auth.RoleSite, auth.RoleMonitor, auth.RoleAdmin, auth.RoleOps}
)

// Rules is who may call each route of trialwatch's public listener. It is
// the only place access is decided: a route missing here cannot be
// mounted, and the access-matrix test fails until it has an entry there too.
//
//	site     uploads and reads its own sites' data
//	monitor  reads every site of its studies and reviews signals
//	admin    users, tokens and study settings
//	ops      nothing here: the admin listener only
func Rules() map[string]Rule {
	return map[string]Rule{
		"GET /healthz":        {Public: true},
		"GET /readyz":         {Public: true},
		"GET " + OpenAPIPath:  {Public: true},                   // the API's OpenAPI description
		"POST /api/v1/login":  {Public: true, ChecksText: true}, // audits and rate-limits itself, refusals included
		"GET /api/v1/me":      {Roles: users},
		"POST /api/v1/logout": {Roles: everyone, Entity: "token", Action: "logout"},

		"POST /api/v1/studies/{study}/uploads":                   {Roles: []auth.Role{auth.RoleSite}, Entity: "upload", Streams: true},
		"POST /api/v1/studies/{study}/subjects/{subject}/checks": {Roles: siteAndMonitor, Entity: "check", Action: "run"},
		"GET /api/v1/studies/{study}/signals":                    {Roles: siteAndMonitor},
		"GET /api/v1/studies/{study}/signals/summary":            {Roles: siteAndMonitor},
		"GET /api/v1/studies/{study}/signals/{id}":               {Roles: siteAndMonitor},
		"PATCH /api/v1/studies/{study}/signals/{id}":             {Roles: monitorOnly, Entity: "signal", Action: "status"},
		"GET /api/v1/studies/{study}/subjects":                   {Roles: siteAndMonitor},
		"GET /api/v1/studies/{study}/subjects/{subject}":         {Roles: siteAndMonitor},
		"GET /api/v1/studies/{study}/edish":                      {Roles: siteAndMonitor},
		"GET /api/v1/studies/{study}/settings":                   {Roles: []auth.Role{auth.RoleMonitor, auth.RoleAdmin}},
		"PUT /api/v1/studies/{study}/settings":                   {Roles: adminOnly, Entity: "settings"},
		"PATCH /api/v1/studies/{study}/settings":                 {Roles: adminOnly, Entity: "settings"},
		"GET /api/v1/studies/{study}/audit":                      {Roles: []auth.Role{auth.RoleMonitor, auth.RoleAdmin}},

		"GET /api/v1/studies/{study}/kris":                            {Roles: siteAndMonitor},
		"GET /api/v1/studies/{study}/kris/{kri}":                      {Roles: siteAndMonitor},
		"GET /api/v1/studies/{study}/kris/{kri}/sites/{site}/history": {Roles: siteAndMonitor},
		"POST /api/v1/studies/{study}/kris/recompute":                 {Roles: []auth.Role{auth.RoleMonitor, auth.RoleAdmin}, Entity: "kri", Action: "recompute"},
		"GET /api/v1/studies/{study}/kri-settings":                    {Roles: []auth.Role{auth.RoleMonitor, auth.RoleAdmin}},
		"PUT /api/v1/studies/{study}/kri-settings":                    {Roles: adminOnly, Entity: "kri-settings"},
		"GET /api/v1/audit":                                           {Roles: adminOnly},

		"GET /api/v1/users":                 {Roles: adminOnly},
		"POST /api/v1/users":                {Roles: adminOnly, Entity: "user"},
		"POST /api/v1/users/{name}/disable": {Roles: adminOnly, Entity: "user", Action: "disable"},
		"POST /api/v1/users/{name}/enable":  {Roles: adminOnly, Entity: "user", Action: "enable"},
		"GET /api/v1/tokens":                {Roles: adminOnly},
		"POST /api/v1/tokens":               {Roles: adminOnly, Entity: "token"},
		"DELETE /api/v1/tokens/{id}":        {Roles: adminOnly, Entity: "token", Action: "revoke"},

		// The web UI (package web). Its pages read and change data only
		// through the API routes above, as the signed-in user.
		"GET /{$}":                    {Public: true}, // redirects to /ui/
		"GET /ui/static/":             {Public: true}, // the embedded stylesheet, scripts and plotting library
		"GET /ui/login":               {Public: true},
		"POST /ui/login":              {Public: true}, // checks its own form token; the login API audits and limits
		"POST /ui/logout":             {Page: true, Roles: everyone},
		"GET /ui/{$}":                 {Page: true, Roles: everyone},
		"GET /ui/open-study":          {Page: true, Roles: users},
		"GET /ui/studies/{study}/{$}": {Page: true, Roles: siteAndMonitor},
		// The plot pages: subjects, eDISH, site KRIs.
		"GET /ui/studies/{study}/subjects":           {Page: true, Roles: siteAndMonitor},
		"GET /ui/studies/{study}/subjects/{subject}": {Page: true, Roles: siteAndMonitor},
		"GET /ui/studies/{study}/edish":              {Page: true, Roles: siteAndMonitor},
		"GET /ui/studies/{study}/kris":               {Page: true, Roles: siteAndMonitor},
		"GET /ui/studies/{study}/sites/{site}":       {Page: true, Roles: siteAndMonitor},
		// Findings, audit trail, uploads, operations. The review and the
		// upload call the audited API routes, once per finding or upload.
		"GET /ui/studies/{study}/findings":         {Page: true, Roles: siteAndMonitor},
		"GET /ui/studies/{study}/findings.csv":     {Page: true, Roles: siteAndMonitor},
		"POST /ui/studies/{study}/findings/review": {Page: true, Roles: monitorOnly},
		"GET /ui/studies/{study}/findings/{id}":    {Page: true, Roles: siteAndMonitor},
		"GET /ui/studies/{study}/audit":            {Page: true, Roles: []auth.Role{auth.RoleMonitor, auth.RoleAdmin}},
		"GET /ui/studies/{study}/audit.csv":        {Page: true, Roles: []auth.Role{auth.RoleMonitor, auth.RoleAdmin}},
		"GET /ui/studies/{study}/uploads":          {Page: true, Roles: []auth.Role{auth.RoleSite}},
		"POST /ui/studies/{study}/uploads":         {Page: true, Roles: []auth.Role{auth.RoleSite}, Streams: true}, // the API bounds it
		"GET /ui/ops":                              {Page: true, Roles: []auth.Role{auth.RoleOps}},

		"/" + trialwatchv1connect.SubjectServiceName + "/":      {Service: true},
		"/" + trialwatchv1connect.ExposureServiceName + "/":     {Service: true},
		"/" + trialwatchv1connect.AdverseEventServiceName + "/": {Service: true},
	}
}
