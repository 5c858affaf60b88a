// Command skel-plugin is a CNI plugin built on the reference skel (Debian's
// golang-github-appc-cni-dev), for comparing our skel's checks, texts and output with
// the reference's. Config field "fail": "cni" returns a CNI error, "plain" a Go error;
// otherwise ADD prints a fixed dual-stack result in the config's version.
package main

import (
	"encoding/json"
	"errors"
	"net"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
)

type conf struct {
	types.NetConf
	Fail string `json:"fail"`
}

func load(args *skel.CmdArgs) (*conf, error) {
	c := &conf{}
	if err := json.Unmarshal(args.StdinData, c); err != nil {
		return nil, err
	}
	switch c.Fail {
	case "cni":
		return nil, types.NewError(types.ErrTryAgainLater, "busy", "lock held")
	case "plain":
		return nil, errors.New("boom <here>")
	}
	return c, nil
}

func cidr(s string) net.IPNet {
	ip, n, _ := net.ParseCIDR(s)
	n.IP = ip
	return *n
}

func cmdAdd(args *skel.CmdArgs) error {
	c, err := load(args)
	if err != nil {
		return err
	}
	idx := 0
	result := &current.Result{
		CNIVersion: current.ImplementedSpecVersion,
		Interfaces: []*current.Interface{{Name: args.IfName, Mac: "0a:58:0a:01:02:03", Sandbox: args.Netns}},
		IPs: []*current.IPConfig{
			{Interface: &idx, Address: cidr("10.1.2.3/24"), Gateway: net.ParseIP("10.1.2.1")},
			{Interface: &idx, Address: cidr("fd00::3/64")},
		},
		Routes: []*types.Route{{Dst: cidr("0.0.0.0/0")}, {Dst: cidr("::/0"), GW: net.ParseIP("fd00::1")}},
	}
	return types.PrintResult(result, c.CNIVersion)
}

func cmdOther(args *skel.CmdArgs) error {
	_, err := load(args)
	return err
}

func main() {
	skel.PluginMain(cmdAdd, cmdOther, cmdOther, version.All, "test-plugin v0")
}
