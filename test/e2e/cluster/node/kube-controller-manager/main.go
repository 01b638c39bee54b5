// Command kube-controller-manager is the upstream Kubernetes kube-controller-manager, built from the published k8s.io/kubernetes module for the
// actortemplate-webhook real-node end-to-end tests. It mirrors k8s.io/kubernetes/cmd/kube-controller-manager.
package main

import (
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // for JSON log format registration
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // for client metric registration
	_ "k8s.io/component-base/metrics/prometheus/version"  // for version metric registration
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
	"os"
	_ "time/tzdata" // for CronJob Time Zone support
)

func main() {
	command := app.NewControllerManagerCommand()
	code := cli.Run(command)
	os.Exit(code)
}
