package spec

import (
	"strings"
	"testing"
)

func TestPhoneModels(t *testing.T) {
	cases := []struct {
		name, block string
		want        []string
		err         string
	}{
		{"absent: every model", "", nil, ""},
		{"short and CUCM names", "    phoneModels: [\"8861\", CP-7960G]\n", []string{"CP-8861", "CP-7960G"}, ""},
		{"unknown model", "    phoneModels: [\"7960\", \"9971\"]\n", nil, `clusters[0].phoneModels[1]: unknown phone model "9971" (known: 7960, 7965, 8861)`},
		{"empty list", "    phoneModels: []\n", nil, "an empty list"},
		{"not a list", "    phoneModels: 7960\n", nil, "want a list"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := loadServiceability(t, c.block)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Clusters[0].PhoneModels; strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}
