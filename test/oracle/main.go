// Command cni-result-oracle converts CNI results with the reference Go library
// (Debian's golang-github-appc-cni-dev) so that our conversions can be checked
// against it. It reads {"targets": [...], "cases": [{"name", "result"}]} on stdin and
// prints, for every case and target version, what GetAsVersion gives: the result
// (as JSON and as Print would write it) or the error text.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/containernetworking/cni/pkg/types/create"

	// The converters and creators register themselves when these load.
	_ "github.com/containernetworking/cni/pkg/types/020"
	_ "github.com/containernetworking/cni/pkg/types/040"
	_ "github.com/containernetworking/cni/pkg/types/100"
)

type input struct {
	Targets []string `json:"targets"`
	Cases   []struct {
		Name   string          `json:"name"`
		Result json.RawMessage `json:"result"`
	} `json:"cases"`
}

type output struct {
	Result  json.RawMessage `json:"result,omitempty"`
	Printed string          `json:"printed,omitempty"`
	Error   string          `json:"error,omitempty"`
}

type caseOut struct {
	Name    string             `json:"name"`
	Outputs map[string]output `json:"outputs"`
}

func convert(raw []byte, target string) output {
	// A fresh result for every target: Convert may hand back its input unchanged.
	res, err := create.CreateFromBytes(raw)
	if err != nil {
		return output{Error: "decode: " + err.Error()}
	}
	conv, err := res.GetAsVersion(target)
	if err != nil {
		return output{Error: err.Error()}
	}
	compact, err := json.Marshal(conv)
	if err != nil {
		return output{Error: "marshal: " + err.Error()}
	}
	printed, err := json.MarshalIndent(conv, "", "    ")
	if err != nil {
		return output{Error: "marshal: " + err.Error()}
	}
	return output{Result: compact, Printed: string(printed)}
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "cni-result-oracle: cannot read input:", err)
		os.Exit(2)
	}
	out := struct {
		Generator string    `json:"generator"`
		Cases     []caseOut `json:"cases"`
	}{Generator: "test/oracle (reference library from golang-github-appc-cni-dev); regenerate with test/oracle/generate"}
	for _, c := range in.Cases {
		co := caseOut{Name: c.Name, Outputs: map[string]output{}}
		for _, t := range in.Targets {
			co.Outputs[t] = convert(c.Result, t)
		}
		out.Cases = append(out.Cases, co)
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cni-result-oracle:", err)
		os.Exit(2)
	}
	os.Stdout.Write(append(data, '\n'))
}
