package vers

import "encoding/json"

// MarshalJSON writes the three-state description: a field left out means
// "unchanged", JSON null means "clear", and a string sets it.
func (r UpdateTagRequest) MarshalJSON() ([]byte, error) {
	body := map[string]any{}
	if r.CommitID != "" {
		body["commit_id"] = r.CommitID
	}
	switch {
	case r.ClearDescription:
		body["description"] = nil
	case r.Description != nil:
		body["description"] = *r.Description
	}
	return json.Marshal(body)
}

// UnmarshalJSON reads the three-state description back (used by versd).
func (r *UpdateTagRequest) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*r = UpdateTagRequest{}
	if v, ok := raw["commit_id"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &r.CommitID); err != nil {
			return err
		}
	}
	if v, ok := raw["description"]; ok {
		if string(v) == "null" {
			r.ClearDescription = true
		} else {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return err
			}
			r.Description = &s
		}
	}
	return nil
}
