// Package deploy holds syncd's deployment files and the test that checks
// them: systemd/syncd.service (a hardened unit), docker/Dockerfile (a
// multi-stage, non-root image with the ONNX Runtime library checked at
// build) and kubernetes/ (a Deployment of three replicas with its
// ConfigMap, Secret, Service, PodDisruptionBudget and ServiceMonitor).
//
// deploy_test.go decodes every manifest strictly into the Kubernetes API's
// own Go types (k8s.io/api, and the Prometheus Operator's for the
// ServiceMonitor): an unknown or misspelt field, a wrong type or a missing
// required field fails, with no network. It also loads the ConfigMap's
// syncd.yaml with syncd's own config package, runs `systemd-analyze
// verify` and `systemd-analyze security --offline` on the unit, and
// parses the Dockerfile with BuildKit's parser and linter.
package deploy
