// Package deploy holds no code: its tests check the deployment files beside
// it. Every Kubernetes manifest decodes strictly into the k8s.io/api types;
// the Compose file loads as Compose does; the Dockerfile copies files its
// build context has and builds what the tests build and run; every PromQL
// expression of the alert rules and the Grafana dashboards parses and names
// only series a running trialwatch node exports, scraped from a live one.
//
// It is a module of its own so that k8s.io/api, compose-go and Prometheus's
// parser stay out of trialwatch's module graph.
package deploy
