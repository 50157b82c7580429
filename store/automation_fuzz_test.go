package store

import (
	"encoding/json"
	"testing"
)

// FuzzAutomationFlow feeds arbitrary JSON to what reads an automation's
// flow from the API: decoding, numbering, checking, planning and the
// editor's operations never panic, and a flow that passes the check plans
// every step it has.
func FuzzAutomationFlow(f *testing.F) {
	for _, seed := range []string{
		`{"steps": [{"kind": "add_tag", "tag": "a"}, {"kind": "wait", "seconds": 3600}, {"kind": "exit"}]}`,
		`{"steps": [{"kind": "condition", "rule": {"match": "all", "conditions": [{"field": "tag", "op": "eq", "value": "x"}]}, "branches": [[{"kind": "exit"}], []]}]}`,
		`{"steps": [{"id": 5, "kind": "split", "percents": [50, 50], "branches": [[{"id": 5, "kind": "exit"}], [{"kind": "wait", "weekdays": [1, 9], "at": "25:00"}]]}]}`,
		`{"steps": [{"kind": "set_attribute", "attribute": "vip", "value": {"a": [1, 2]}}, {"kind": "wait_event", "event": "", "seconds": -1}]}`,
		`{"steps": [{"kind": "email", "template_id": 1, "branches": [[[]]]}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var flow Flow
		if err := json.Unmarshal(data, &flow); err != nil {
			return
		}
		flow.number(1)
		errs := map[string]string{}
		flow.validate(errs, true)
		plan := flow.Plan()
		if len(errs) == 0 {
			flow.Walk(func(st *Step) {
				if _, ok := plan.Step(st.ID); !ok {
					t.Fatalf("step %d passed the check but is not in the plan", st.ID)
				}
				for b := range st.Branches {
					plan.Next(st.ID, b)
				}
			})
		}
		if len(flow.Steps) > 0 {
			id := flow.Steps[0].ID
			flow.Insert(Position{After: id}, Step{Kind: StepCondition})
			flow.Replace(id, Step{Kind: flow.Steps[0].Kind})
			flow.Remove(id)
		}
	})
}
