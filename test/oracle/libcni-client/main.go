// libcni-client: a container runtime reduced to its CNI calls, on the reference Go
// libcni as containerd, CRI-O and podman embed it. Every plugin is one exec.
//
//	libcni-client add|check|del|validate NETWORK NETNS [CONTAINERID]
//
// NETCONFPATH, CNI_PATH, CNI_IFNAME, CNI_ARGS (K=V;K=V), CAP_ARGS (JSON) and
// CNI_CACHE_DIR mean what they mean to cnitool. The result of add goes to stdout.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

func runtimeConf(netns, containerID string) (*libcni.RuntimeConf, error) {
	rt := &libcni.RuntimeConf{
		ContainerID: containerID,
		NetNS:       netns,
		IfName:      envOr("CNI_IFNAME", "eth0"),
		CacheDir:    os.Getenv("CNI_CACHE_DIR"),
	}
	for _, pair := range strings.Split(os.Getenv("CNI_ARGS"), ";") {
		if kv := strings.SplitN(pair, "=", 2); len(kv) == 2 {
			rt.Args = append(rt.Args, [2]string{kv[0], kv[1]})
		}
	}
	if caps := os.Getenv("CAP_ARGS"); caps != "" {
		if err := json.Unmarshal([]byte(caps), &rt.CapabilityArgs); err != nil {
			return nil, fmt.Errorf("CAP_ARGS: %w", err)
		}
	}
	return rt, nil
}

func run(args []string) error {
	if len(args) < 3 {
		return fmt.Errorf("usage: libcni-client add|check|del|validate NETWORK NETNS [CONTAINERID]")
	}
	verb, network, netns := args[0], args[1], args[2]
	containerID := "libcni-client-" + filepath.Base(netns)
	if len(args) > 3 {
		containerID = args[3]
	}
	list, err := libcni.LoadConfList(envOr("NETCONFPATH", "/etc/cni/net.d"), network)
	if err != nil {
		return err
	}
	rt, err := runtimeConf(netns, containerID)
	if err != nil {
		return err
	}
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(os.Getenv("CNI_PATH")), rt.CacheDir, nil)
	ctx := context.Background()
	switch verb {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			return err
		}
		out, err := json.Marshal(result)
		if err != nil {
			return err
		}
		fmt.Println(string(out))
	case "check":
		return cni.CheckNetworkList(ctx, list, rt)
	case "del":
		return cni.DelNetworkList(ctx, list, rt)
	case "validate":
		caps, err := cni.ValidateNetworkList(ctx, list)
		if err != nil {
			return err
		}
		fmt.Println(strings.Join(caps, " "))
	default:
		return fmt.Errorf("unknown command %q", verb)
	}
	return nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "libcni-client:", err)
		os.Exit(1)
	}
}
