// Package k8s holds the Kubernetes manifests of Chorus (the *.yaml files
// beside this one: a StatefulSet, its headless and client Services, and a
// PodDisruptionBudget) and the test that keeps them deployable. It has no
// code: README.md tells how to deploy, scale from 3 to 5 nodes and back,
// and make the certificates Secret.
//
// # Guarantees
//
// The test decodes every document of every manifest strictly with the
// Kubernetes API types (k8s.io/api): an unknown or misspelt field, a
// duplicate key, a value of the wrong type or an unknown kind fails it.
// It then checks what a strict decode cannot:
//   - the StatefulSet names the headless Service, which publishes pods
//     before they are ready (a starting node finds the seeds through it);
//   - every port of --http-addr, --grpc-addr, --peer-addr and
//     --gossip-addr is a named container port, and every Service port
//     targets one;
//   - the probes are HTTPS GETs of /healthz (liveness, startup) and
//     /readyz (readiness) on the HTTP port;
//   - --advertise and --join use the pods' stable DNS names, with the
//     gossip port, and every $(VAR) in the arguments is defined;
//   - the data volume comes from volumeClaimTemplates and is mounted at
//     --data-dir, the certificates from a Secret at --certs-dir, read-only;
//   - the pods run as the image's user (the Dockerfile's USER), with
//     anti-affinity on the host name;
//   - the PodDisruptionBudget allows one pod down, and every selector
//     matches the pods' labels;
//   - the node flags are the ones deploy/docker-compose.yml gives, which
//     scripts/compose-test.sh runs for real.
package k8s
