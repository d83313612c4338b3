package provider

import (
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// TestSettings pins the precedence rules of the provider block against the
// environment without starting Terraform.
func TestSettings(t *testing.T) {
	null := providerModel{APIKey: types.StringNull(), BaseURL: types.StringNull(), VMDomain: types.StringNull(),
		SSHAddress: types.StringNull(), SSHCAFile: types.StringNull(), SSHInsecureSkipVerify: types.BoolNull(),
		MaxRetries: types.Int64Null(), RequestTimeout: types.StringNull()}
	with := func(f func(m *providerModel)) providerModel { m := null; f(&m); return m }
	cases := map[string]struct {
		cfg     providerModel
		env     map[string]string
		check   func(s clientSettings) bool
		wantErr string
	}{
		"env only; client defaults left to vers.New": {
			cfg: null, env: map[string]string{"VERS_API_KEY": "k"},
			check: func(s clientSettings) bool {
				return s.config.APIKey == "k" && s.config.BaseURL == vers.DefaultBaseURL && s.config.MaxRetries < 0 &&
					s.config.VMDomain == "" && s.config.RequestTimeout == defaultRequestTimeout && !s.config.SSHInsecureSkipVerify
			},
		},
		"attributes win over env": {
			cfg: with(func(m *providerModel) {
				m.APIKey, m.BaseURL, m.VMDomain = types.StringValue("attr"), types.StringValue("http://127.0.0.1:1"), types.StringValue("vm.x")
				m.SSHAddress, m.SSHCAFile = types.StringValue("a:1"), types.StringValue("/ca.pem")
				m.SSHInsecureSkipVerify, m.MaxRetries, m.RequestTimeout = types.BoolValue(false), types.Int64Value(0), types.StringValue("5s")
			}),
			env: map[string]string{"VERS_API_KEY": "env", "VERS_BASE_URL": "http://env", "VERS_VM_DOMAIN": "vm.env",
				"VERS_SSH_ADDRESS": "env:1", "VERS_SSH_CA_FILE": "/env.pem", "VERS_SSH_INSECURE": "true"},
			check: func(s clientSettings) bool {
				c := s.config
				return c.APIKey == "attr" && c.BaseURL == "http://127.0.0.1:1" && c.VMDomain == "vm.x" && c.SSHAddress == "a:1" &&
					s.caFile == "/ca.pem" && !c.SSHInsecureSkipVerify && c.MaxRetries == 0 && c.RequestTimeout == 5*time.Second
			},
		},
		"env fills what the block omits": {
			cfg: null,
			env: map[string]string{"VERS_API_KEY": "k", "VERS_BASE_URL": "http://env/api/v1", "VERS_VM_DOMAIN": "vm.env",
				"VERS_SSH_ADDRESS": "env:1", "VERS_SSH_CA_FILE": "/env.pem", "VERS_SSH_INSECURE": "1"},
			check: func(s clientSettings) bool {
				c := s.config
				return c.BaseURL == "http://env/api/v1" && c.VMDomain == "vm.env" && c.SSHAddress == "env:1" &&
					s.caFile == "/env.pem" && c.SSHInsecureSkipVerify
			},
		},
		"no key":                {cfg: null, env: map[string]string{}, wantErr: "Missing Vers API key"},
		"bad VERS_SSH_INSECURE": {cfg: null, env: map[string]string{"VERS_API_KEY": "k", "VERS_SSH_INSECURE": "perhaps"}, wantErr: "Invalid VERS_SSH_INSECURE"},
		"bad request_timeout": {
			cfg: with(func(m *providerModel) { m.RequestTimeout = types.StringValue("soon") }),
			env: map[string]string{"VERS_API_KEY": "k"}, wantErr: "Invalid request_timeout",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, diags := settings(tc.cfg, func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if !diags.HasError() || diags.Errors()[0].Summary() != tc.wantErr {
					t.Fatalf("diags = %v, want %q", diags, tc.wantErr)
				}
				return
			}
			if diags.HasError() {
				t.Fatalf("diags = %v", diags)
			}
			if !tc.check(s) {
				t.Fatalf("settings = %+v (caFile %q)", s.config, s.caFile)
			}
		})
	}
}

// TestSettings_clientAppliesDefaults: the defaults settings leaves out are
// applied by vers.New, so the loopback VM domain and /api/v1 handling have
// one home.
func TestSettings_clientAppliesDefaults(t *testing.T) {
	s, diags := settings(providerModel{APIKey: types.StringValue("k"), BaseURL: types.StringValue("http://127.0.0.1:9/api/v1/"),
		VMDomain: types.StringNull(), SSHAddress: types.StringNull(), SSHCAFile: types.StringNull(),
		SSHInsecureSkipVerify: types.BoolNull(), MaxRetries: types.Int64Null(), RequestTimeout: types.StringNull()},
		func(string) string { return "" })
	if diags.HasError() {
		t.Fatal(diags)
	}
	c, err := vers.New(s.config)
	if err != nil {
		t.Fatal(err)
	}
	if c.VMDomain() != vers.LocalVMDomain {
		t.Fatalf("VM domain %q, want %q", c.VMDomain(), vers.LocalVMDomain)
	}
}
