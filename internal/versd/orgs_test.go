package versd

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

const otherOrgKey = "other-org-key-not-secret"

// startTwoOrgs starts a versd with the default org "local" (testKey) and
// "other" (otherOrgKey) and returns a client for each.
func startTwoOrgs(t *testing.T) (*Server, *client, *client) {
	t.Helper()
	s := startTest(t, "", func(o *Options) { o.Orgs = []OrgKey{{Name: "other", APIKey: otherOrgKey}} })
	a := newClient(t, s)
	b := newClient(t, s)
	b.key = otherOrgKey
	return s, a, b
}

// orgFixture is one of everything an organisation owns. The names are
// distinctive so a listing that shows them is caught by a substring search.
type orgFixture struct {
	org, vm, commit, spare, tag, repo, repoTag, env, envValue, execID, owner string
}

func (f orgFixture) secrets() []string {
	return []string{f.vm, f.commit, f.spare, f.tag, f.repo, f.env, f.envValue, f.owner}
}

// placeholders turns the fixture's values in s into their field names, so
// two answers about different objects can be compared.
func (f orgFixture) placeholders(s string) string {
	for k, v := range map[string]string{"{vm}": f.vm, "{commit}": f.commit, "{spare}": f.spare, "{tag}": f.tag,
		"{repo}": f.repo, "{env}": f.env, "{exec}": f.execID} {
		s = strings.ReplaceAll(s, v, k)
	}
	return s
}

func newOrgFixture(t *testing.T, c *client, org string, n int) orgFixture {
	t.Helper()
	f := orgFixture{org: org, tag: fmt.Sprintf("privtag-%d", n), repo: fmt.Sprintf("privrepo-%d", n), repoTag: "latest",
		env: fmt.Sprintf("PRIV_ENV_%d", n), envValue: fmt.Sprintf("privvalue-%d", n)}
	f.vm = c.newRoot()
	var ex vers.ExecResponse
	c.must(200, "POST", "/api/v1/vm/"+f.vm+"/exec", map[string]any{"command": []string{"sh", "-c", "echo hi > /root/f"}}, &ex)
	f.execID = *ex.ExecID
	f.commit = c.commit(f.vm, nil)
	f.spare = c.commit(f.vm, nil) // untagged, so its owner may delete it
	c.must(201, "POST", "/api/v1/commit_tags", map[string]any{"tag_name": f.tag, "commit_id": f.commit}, nil)
	c.must(201, "POST", "/api/v1/repositories", map[string]any{"name": f.repo}, nil)
	c.must(201, "POST", "/api/v1/repositories/"+f.repo+"/tags", map[string]any{"tag_name": f.repoTag, "commit_id": f.commit}, nil)
	c.must(200, "PUT", "/api/v1/env_vars", map[string]any{"vars": map[string]string{f.env: f.envValue}}, nil)
	var st vers.VM
	c.must(200, "GET", "/api/v1/vm/"+f.vm+"/status", nil, &st)
	f.owner = st.OwnerID
	return f
}

// ghost is a fixture of objects that do not exist.
func ghost(org string) orgFixture {
	return orgFixture{org: org, vm: uuid.NewString(), commit: uuid.NewString(), spare: uuid.NewString(), tag: "ghosttag",
		repo: "ghostrepo", repoTag: "latest", env: "GHOST_ENV", execID: uuid.NewString()}
}

// checkIntact fails unless org a still has everything of f as it was.
func checkIntact(t *testing.T, a *client, f orgFixture, after string) {
	t.Helper()
	var st vers.VM
	if r := a.do("GET", "/api/v1/vm/"+f.vm+"/status", nil); r.status != 200 {
		t.Fatalf("after %s: the owner's VM: %d %s", after, r.status, r.body)
	} else if r.json(t, &st); st.State != vers.VMStateRunning {
		t.Fatalf("after %s: the owner's VM is %s", after, st.State)
	}
	var tag vers.TagInfo
	a.must(200, "GET", "/api/v1/commit_tags/"+f.tag, nil, &tag)
	var rtag vers.RepoTagInfo
	a.must(200, "GET", "/api/v1/repositories/"+f.repo+"/tags/"+f.repoTag, nil, &rtag)
	var repo vers.RepositoryInfo
	a.must(200, "GET", "/api/v1/repositories/"+f.repo, nil, &repo)
	var env vers.EnvVarsResponse
	a.must(200, "GET", "/api/v1/env_vars", nil, &env)
	var commits vers.ListCommitsResponse
	a.must(200, "GET", "/api/v1/commits?limit=1000", nil, &commits)
	ids := []string{}
	for _, c := range commits.Commits {
		ids = append(ids, c.CommitID)
	}
	if tag.CommitID != f.commit || rtag.CommitID != f.commit || repo.IsPublic || env.Vars[f.env] != f.envValue ||
		!slices.Contains(ids, f.commit) || !slices.Contains(ids, f.spare) {
		t.Fatalf("after %s the owner's objects changed: tag %+v, repo tag %+v, repo %+v, env %v, commits %v", after, tag, rtag, repo, env.Vars, ids)
	}
}

type privacyKind int

const (
	// hidden: the other org gets the 404 a missing object gets; the owner
	// gets a 2xx for the same request.
	hidden privacyKind = iota
	// listing: the other org gets 200 without any of the owner's objects;
	// the owner's answer shows them.
	listing
	// ownNamespace: the other org's request succeeds in its own namespace
	// (same names allowed) and leaves the owner's objects alone.
	ownNamespace
	// publicOnly: 404 for the other org while the repository is private,
	// 2xx once its owner makes it public.
	publicOnly
)

type privacyCase struct {
	pattern string
	kind    privacyKind
	// destroys marks owner requests that delete or pause something; they
	// run last, in table order.
	destroys bool
	req      func(f orgFixture) (path string, body any)
}

// privacyCases covers every API route (TestEveryRouteHasAPrivacyCase keeps
// it so): each request names the owner's objects.
func privacyCases() []privacyCase {
	vm := func(suffix string, body any) func(f orgFixture) (string, any) {
		return func(f orgFixture) (string, any) { return "/api/v1/vm/" + f.vm + suffix, body }
	}
	none := func(path string, body any) func(orgFixture) (string, any) {
		return func(orgFixture) (string, any) { return path, body }
	}
	return []privacyCase{
		{"GET /api/v1/vms", listing, false, none("/api/v1/vms", nil)},
		{"POST /api/v1/vm/new_root", ownNamespace, false, none("/api/v1/vm/new_root", map[string]any{"vm_config": map[string]any{}})},
		{"POST /api/v1/vm/from_commit", hidden, false, func(f orgFixture) (string, any) {
			return "/api/v1/vm/from_commit", map[string]any{"commit_id": f.commit}
		}},
		{"POST /api/v1/vm/from_commit", hidden, false, func(f orgFixture) (string, any) {
			return "/api/v1/vm/from_commit", map[string]any{"tag_name": f.tag}
		}},
		{"POST /api/v1/vm/from_commit", hidden, false, func(f orgFixture) (string, any) {
			return "/api/v1/vm/from_commit", map[string]any{"ref": f.repo + ":" + f.repoTag}
		}},
		{"POST /api/v1/vm/{id}/branch", hidden, false, vm("/branch", nil)},
		{"POST /api/v1/vm/{id}/branch", hidden, false, func(f orgFixture) (string, any) { return "/api/v1/vm/" + f.commit + "/branch", nil }},
		{"POST /api/v1/vm/branch/by_vm/{id}", hidden, false, func(f orgFixture) (string, any) { return "/api/v1/vm/branch/by_vm/" + f.vm, nil }},
		{"POST /api/v1/vm/branch/by_commit/{id}", hidden, false, func(f orgFixture) (string, any) { return "/api/v1/vm/branch/by_commit/" + f.commit, nil }},
		{"POST /api/v1/vm/branch/by_tag/{tag}", hidden, false, func(f orgFixture) (string, any) { return "/api/v1/vm/branch/by_tag/" + f.tag, nil }},
		{"POST /api/v1/vm/branch/by_ref/{repo}/{tag}", hidden, false, func(f orgFixture) (string, any) {
			return "/api/v1/vm/branch/by_ref/" + f.repo + "/" + f.repoTag, nil
		}},
		{"POST /api/v1/vm/{id}/commit", hidden, false, vm("/commit", nil)},
		{"GET /api/v1/vm/{id}/status", hidden, false, vm("/status", nil)},
		{"GET /api/v1/vm/{id}/metadata", hidden, false, vm("/metadata", nil)},
		{"GET /api/v1/vm/{id}/ssh_key", hidden, false, vm("/ssh_key", nil)},
		{"PATCH /api/v1/vm/{id}/disk", hidden, false, vm("/disk", map[string]any{"fs_size_mib": 2048})},
		{"PATCH /api/v1/vm/{id}/label", hidden, false, vm("/label", map[string]any{"labels": map[string]string{"k": "v"}})},
		{"POST /api/v1/vm/{id}/exec", hidden, false, vm("/exec", map[string]any{"command": []string{"true"}})},
		{"POST /api/v1/vm/{id}/exec/stream", hidden, false, vm("/exec/stream", map[string]any{"command": []string{"true"}})},
		{"POST /api/v1/vm/{id}/exec/stream/attach", hidden, false, func(f orgFixture) (string, any) {
			return "/api/v1/vm/" + f.vm + "/exec/stream/attach", map[string]any{"exec_id": f.execID, "cursor": 0}
		}},
		{"GET /api/v1/vm/{id}/logs", hidden, false, vm("/logs", nil)},
		{"GET /api/v1/vm/{id}/files", hidden, false, vm("/files?path=/root/f", nil)},
		{"PUT /api/v1/vm/{id}/files", hidden, false, vm("/files", map[string]any{"path": "/root/g", "content_b64": "aGk="})},

		{"GET /api/v1/commits", listing, false, none("/api/v1/commits?limit=1000", nil)},
		{"GET /api/v1/commits/public", listing, false, none("/api/v1/commits/public?limit=1000", nil)},
		{"PATCH /api/v1/commits/{id}", hidden, false, func(f orgFixture) (string, any) {
			return "/api/v1/commits/" + f.commit, map[string]any{"is_public": false}
		}},
		{"GET /api/v1/vm/commits/{id}/parents", hidden, false, func(f orgFixture) (string, any) { return "/api/v1/vm/commits/" + f.commit + "/parents", nil }},

		{"POST /api/v1/commit_tags", hidden, false, func(f orgFixture) (string, any) {
			return "/api/v1/commit_tags", map[string]any{"tag_name": "new-" + f.tag, "commit_id": f.commit}
		}},
		{"GET /api/v1/commit_tags", listing, false, none("/api/v1/commit_tags", nil)},
		{"GET /api/v1/commit_tags/{tag}", hidden, false, func(f orgFixture) (string, any) { return "/api/v1/commit_tags/" + f.tag, nil }},
		{"PATCH /api/v1/commit_tags/{tag}", hidden, false, func(f orgFixture) (string, any) {
			return "/api/v1/commit_tags/" + f.tag, map[string]any{"description": "x"}
		}},

		{"POST /api/v1/repositories", ownNamespace, false, func(f orgFixture) (string, any) {
			return "/api/v1/repositories", map[string]any{"name": f.repo}
		}},
		{"GET /api/v1/repositories", listing, false, none("/api/v1/repositories", nil)},
		{"GET /api/v1/repositories/{repo}", hidden, false, func(f orgFixture) (string, any) { return "/api/v1/repositories/" + f.repo, nil }},
		{"PATCH /api/v1/repositories/{repo}/visibility", hidden, false, func(f orgFixture) (string, any) {
			return "/api/v1/repositories/" + f.repo + "/visibility", map[string]any{"is_public": false}
		}},
		{"POST /api/v1/repositories/fork", publicOnly, false, func(f orgFixture) (string, any) {
			return "/api/v1/repositories/fork", map[string]any{"source_org": f.org, "source_repo": f.repo, "source_tag": f.repoTag,
				"repo_name": "forked-" + f.repo}
		}},
		{"POST /api/v1/repositories/{repo}/tags", hidden, false, func(f orgFixture) (string, any) {
			return "/api/v1/repositories/" + f.repo + "/tags", map[string]any{"tag_name": "v2", "commit_id": f.commit}
		}},
		{"GET /api/v1/repositories/{repo}/tags", hidden, false, func(f orgFixture) (string, any) { return "/api/v1/repositories/" + f.repo + "/tags", nil }},
		{"GET /api/v1/repositories/{repo}/tags/{tag}", hidden, false, func(f orgFixture) (string, any) {
			return "/api/v1/repositories/" + f.repo + "/tags/" + f.repoTag, nil
		}},
		{"PATCH /api/v1/repositories/{repo}/tags/{tag}", hidden, false, func(f orgFixture) (string, any) {
			return "/api/v1/repositories/" + f.repo + "/tags/" + f.repoTag, map[string]any{"description": "x"}
		}},

		{"GET /api/v1/env_vars", listing, false, none("/api/v1/env_vars", nil)},
		{"PUT /api/v1/env_vars", ownNamespace, false, func(f orgFixture) (string, any) {
			return "/api/v1/env_vars", map[string]any{"vars": map[string]string{f.env: "the-other-orgs-value"}}
		}},

		{"GET /api/v1/public/repositories", listing, false, none("/api/v1/public/repositories", nil)},
		{"GET /api/v1/public/repositories/{org}/{repo}", publicOnly, false, func(f orgFixture) (string, any) {
			return "/api/v1/public/repositories/" + f.org + "/" + f.repo, nil
		}},
		{"GET /api/v1/public/repositories/{org}/{repo}/tags", publicOnly, false, func(f orgFixture) (string, any) {
			return "/api/v1/public/repositories/" + f.org + "/" + f.repo + "/tags", nil
		}},
		{"GET /api/v1/public/repositories/{org}/{repo}/tags/{tag}", publicOnly, false, func(f orgFixture) (string, any) {
			return "/api/v1/public/repositories/" + f.org + "/" + f.repo + "/tags/" + f.repoTag, nil
		}},

		// Destructive ones last, in an order in which each still finds its target.
		{"DELETE /api/v1/env_vars/{key}", hidden, true, func(f orgFixture) (string, any) { return "/api/v1/env_vars/" + f.env, nil }},
		{"DELETE /api/v1/repositories/{repo}/tags/{tag}", hidden, true, func(f orgFixture) (string, any) {
			return "/api/v1/repositories/" + f.repo + "/tags/" + f.repoTag, nil
		}},
		{"DELETE /api/v1/repositories/{repo}", hidden, true, func(f orgFixture) (string, any) { return "/api/v1/repositories/" + f.repo, nil }},
		{"DELETE /api/v1/commit_tags/{tag}", hidden, true, func(f orgFixture) (string, any) { return "/api/v1/commit_tags/" + f.tag, nil }},
		{"DELETE /api/v1/commits/{id}", hidden, true, func(f orgFixture) (string, any) { return "/api/v1/commits/" + f.spare, nil }},
		{"PATCH /api/v1/vm/{id}/state", hidden, true, vm("/state", map[string]any{"state": "Paused"})},
		{"DELETE /api/v1/vm/{id}", hidden, true, vm("", nil)},
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func methodOf(pattern string) string { m, _, _ := strings.Cut(pattern, " "); return m }

// A route without a privacy case fails here, so nobody adds an endpoint
// without deciding what another organisation sees of it.
func TestEveryRouteHasAPrivacyCase(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range privacyCases() {
		covered[c.pattern] = true
	}
	var s Server
	registered := map[string]bool{}
	for _, rt := range s.apiRoutes() {
		registered[rt.pattern] = true
		if !covered[rt.pattern] {
			t.Errorf("route %s has no case in privacyCases", rt.pattern)
		}
	}
	for p := range covered {
		if !registered[p] {
			t.Errorf("privacyCases covers %s, which is not a route", p)
		}
	}
}

// Another organisation's key sees nothing of an organisation's objects on
// any route: 404 exactly as for a missing object, listings without them,
// and nothing it sends changes them. Public repositories are the exception,
// and only once their owner makes them public.
func TestOrgsArePrivateOnEveryRoute(t *testing.T) {
	_, a, b := startTwoOrgs(t)
	f := newOrgFixture(t, a, "local", 1)
	g := ghost("local")
	cases := privacyCases()
	// Own-namespace requests last: they create objects with the owner's
	// names, which the other org's listings and reads then rightly show.
	bOrder := slices.Clone(cases)
	slices.SortStableFunc(bOrder, func(x, y privacyCase) int { return boolInt(x.kind == ownNamespace) - boolInt(y.kind == ownNamespace) })
	for _, c := range bOrder {
		path, body := c.req(f)
		name := c.pattern + " " + f.placeholders(path)
		r := b.do(methodOf(c.pattern), path, body)
		switch c.kind {
		case hidden, publicOnly:
			if r.status != http.StatusNotFound {
				t.Fatalf("%s as the other org: %d %s, want 404", name, r.status, r.body)
			}
			gpath, gbody := c.req(g)
			gr := b.do(methodOf(c.pattern), gpath, gbody)
			if gr.status != http.StatusNotFound || g.placeholders(gr.errorMessage(t)) != f.placeholders(r.errorMessage(t)) {
				t.Fatalf("%s: the other org can tell an existing object from a missing one:\n existing: %d %s\n missing:  %d %s",
					name, r.status, r.body, gr.status, gr.body)
			}
		case listing:
			if r.status != http.StatusOK {
				t.Fatalf("%s as the other org: %d %s", name, r.status, r.body)
			}
			for _, v := range f.secrets() {
				if strings.Contains(string(r.body), v) {
					t.Fatalf("%s shows the other org %q: %s", name, v, r.body)
				}
			}
		case ownNamespace:
			if r.status/100 != 2 {
				t.Fatalf("%s as the other org, in its own namespace: %d %s", name, r.status, r.body)
			}
		}
		if c.kind == publicOnly {
			a.must(204, "PATCH", "/api/v1/repositories/"+f.repo+"/visibility", map[string]any{"is_public": true}, nil)
			if r := b.do(methodOf(c.pattern), path, body); r.status/100 != 2 {
				t.Fatalf("%s as the other org once public: %d %s", name, r.status, r.body)
			}
			a.must(204, "PATCH", "/api/v1/repositories/"+f.repo+"/visibility", map[string]any{"is_public": false}, nil)
		}
		checkIntact(t, a, f, "the other org's "+name)
	}
	// The same requests by the owner succeed: the 404s above came from the
	// organisation check, not from a malformed request.
	for _, destroying := range []bool{false, true} {
		for _, c := range cases {
			if c.destroys != destroying || c.kind == ownNamespace || c.kind == publicOnly {
				continue
			}
			path, body := c.req(f)
			r := a.do(methodOf(c.pattern), path, body)
			if r.status/100 != 2 {
				t.Fatalf("%s as the owner: %d %s", c.pattern+" "+f.placeholders(path), r.status, r.body)
			}
			if c.kind == listing && c.pattern != "GET /api/v1/commits/public" && c.pattern != "GET /api/v1/public/repositories" {
				if !slices.ContainsFunc(f.secrets(), func(v string) bool { return strings.Contains(string(r.body), v) }) {
					t.Fatalf("%s as the owner shows none of its objects: %s", c.pattern, r.body)
				}
			}
		}
	}
}

// Names are per organisation, each org's env vars reach its own VMs only,
// and a tag cannot point at another organisation's commit.
func TestOrgsHaveTheirOwnNamespaces(t *testing.T) {
	_, a, b := startTwoOrgs(t)
	aVM, bVM := a.newRoot(), b.newRoot()
	aCommit, bCommit := a.commit(aVM, nil), b.commit(bVM, nil)
	for _, c := range []struct {
		cl     *client
		commit string
		value  string
	}{{a, aCommit, "from-a"}, {b, bCommit, "from-b"}} {
		c.cl.must(201, "POST", "/api/v1/repositories", map[string]any{"name": "app"}, nil)
		c.cl.must(201, "POST", "/api/v1/repositories/app/tags", map[string]any{"tag_name": "latest", "commit_id": c.commit}, nil)
		c.cl.must(201, "POST", "/api/v1/commit_tags", map[string]any{"tag_name": "prod", "commit_id": c.commit}, nil)
		c.cl.must(200, "PUT", "/api/v1/env_vars", map[string]any{"vars": map[string]string{"WHO": c.value}}, nil)
	}
	var rt vers.RepoTagInfo
	b.must(200, "GET", "/api/v1/repositories/app/tags/latest", nil, &rt)
	if rt.CommitID != bCommit {
		t.Fatalf("org b's app:latest = %s, want its own %s", rt.CommitID, bCommit)
	}
	if got := strings.TrimSpace(a.execOK(aVM, "echo $WHO")); got != "from-a" {
		t.Fatalf("org a's VM sees WHO=%q", got)
	}
	if got := strings.TrimSpace(b.execOK(bVM, "echo $WHO")); got != "from-b" {
		t.Fatalf("org b's VM sees WHO=%q", got)
	}
	// b's own repository, a's commit: the commit is not found.
	b.must(404, "POST", "/api/v1/repositories/app/tags", map[string]any{"tag_name": "stolen", "commit_id": aCommit}, nil)
	b.must(404, "PATCH", "/api/v1/repositories/app/tags/latest", map[string]any{"commit_id": aCommit}, nil)
	b.must(404, "PATCH", "/api/v1/commit_tags/prod", map[string]any{"commit_id": aCommit}, nil)
	// The same X-Idempotency-Key in two orgs is two requests.
	for _, c := range []*client{a, b} {
		c.hdr = map[string]string{"X-Idempotency-Key": "shared-key"}
	}
	var ra, rb vers.CreateRepositoryResponse
	a.must(201, "POST", "/api/v1/repositories", map[string]any{"name": "same"}, &ra)
	b.must(201, "POST", "/api/v1/repositories", map[string]any{"name": "same"}, &rb)
	if ra.RepoID == rb.RepoID {
		t.Fatalf("org b got org a's idempotent answer %+v", rb)
	}
	// A public commit is listed for everyone but usable only by its org.
	a.hdr, b.hdr = nil, nil
	a.must(200, "PATCH", "/api/v1/commits/"+aCommit, map[string]any{"is_public": true}, nil)
	var pub vers.ListCommitsResponse
	b.must(200, "GET", "/api/v1/commits/public", nil, &pub)
	if !slices.ContainsFunc(pub.Commits, func(c vers.CommitInfo) bool { return c.CommitID == aCommit }) {
		t.Fatalf("org a's public commit is not in /commits/public: %+v", pub)
	}
	b.must(404, "POST", "/api/v1/vm/from_commit", map[string]any{"commit_id": aCommit}, nil)
	b.must(404, "GET", "/api/v1/vm/commits/"+aCommit+"/parents", nil, nil)
}

// A fork of another organisation's public repository lands in the
// caller's organisation: repo, tag, commit and a running VM it owns, with
// the source's files. The source org sees none of it.
func TestForkAcrossOrgs(t *testing.T) {
	_, a, b := startTwoOrgs(t)
	vm := a.newRoot()
	a.execOK(vm, "echo forked-content > /root/marker")
	commit := a.commit(vm, nil)
	a.must(201, "POST", "/api/v1/repositories", map[string]any{"name": "img"}, nil)
	a.must(201, "POST", "/api/v1/repositories/img/tags", map[string]any{"tag_name": "v1", "commit_id": commit}, nil)
	fork := map[string]any{"source_org": "local", "source_repo": "img", "source_tag": "v1"}
	r := b.must(404, "POST", "/api/v1/repositories/fork", fork, nil)
	if msg := r.errorMessage(t); msg != "Repository not found: local/img" {
		t.Fatalf("private source: %q", msg)
	}
	a.must(204, "PATCH", "/api/v1/repositories/img/visibility", map[string]any{"is_public": true}, nil)
	// Only the repository's visibility counts: the commit stays private.
	var out vers.ForkRepositoryResponse
	b.must(201, "POST", "/api/v1/repositories/fork", fork, &out)
	if out.RepoName != "img" || out.TagName != "v1" || out.Reference != "img:v1" || out.CommitID == commit || out.VMID == "" {
		t.Fatalf("fork = %+v", out)
	}
	b.must(409, "POST", "/api/v1/repositories/fork", fork, nil)
	var rt vers.RepoTagInfo
	b.must(200, "GET", "/api/v1/repositories/img/tags/v1", nil, &rt)
	if rt.CommitID != out.CommitID {
		t.Fatalf("b's img:v1 = %s, want the fork's commit %s", rt.CommitID, out.CommitID)
	}
	var repo vers.RepositoryInfo
	if b.must(200, "GET", "/api/v1/repositories/img", nil, &repo); repo.IsPublic {
		t.Fatal("the forked repository is public; forks start private")
	}
	if got := strings.TrimSpace(b.execOK(out.VMID, "cat /root/marker")); got != "forked-content" {
		t.Fatalf("fork VM's marker = %q", got)
	}
	a.must(404, "GET", "/api/v1/vm/"+out.VMID+"/status", nil, nil)
	a.must(404, "PATCH", "/api/v1/commits/"+out.CommitID, map[string]any{"is_public": true}, nil)
	// The fork's ancestry stops at the organisation boundary.
	var parents []vers.CommitEntity
	b.must(200, "GET", "/api/v1/vm/commits/"+out.CommitID+"/parents", nil, &parents)
	for _, p := range parents {
		if p.ID == commit {
			t.Fatalf("org b's parents chain shows org a's commit: %+v", parents)
		}
	}
	// The fork outlives its VM; booting it again works.
	b.must(200, "DELETE", "/api/v1/vm/"+out.VMID, nil, nil)
	var nv vers.NewVMResponse
	b.must(201, "POST", "/api/v1/vm/from_commit", map[string]any{"ref": "img:v1"}, &nv)
	if got := strings.TrimSpace(b.execOK(nv.VMID, "cat /root/marker")); got != "forked-content" {
		t.Fatalf("VM from the forked tag: marker = %q", got)
	}
	// Another org's image by reference, without a fork: not found.
	b.must(404, "POST", "/api/v1/vm/from_commit", map[string]any{"ref": "local/img:v1"}, nil)
}

// Every versd publishes its base root filesystem as vers/base:latest, and
// a fork of it boots the same base new_root gives.
func TestBuiltinBaseImageForks(t *testing.T) {
	s, a, b := startTwoOrgs(t)
	var pub vers.ListPublicRepositoriesResponse
	b.must(200, "GET", "/api/v1/public/repositories", nil, &pub)
	if !slices.ContainsFunc(pub.Repositories, func(r vers.PublicRepositoryInfo) bool { return r.FullName == "vers/base" && r.OrgName == "vers" }) {
		t.Fatalf("vers/base not among the public repositories: %+v", pub)
	}
	var tag vers.RepoTagInfo
	b.must(200, "GET", "/api/v1/public/repositories/vers/base/tags/latest", nil, &tag)
	for _, c := range []*client{a, b} {
		var out vers.ForkRepositoryResponse
		c.must(201, "POST", "/api/v1/repositories/fork", map[string]any{"source_org": "vers", "source_repo": "base", "source_tag": "latest"}, &out)
		if out.Reference != "base:latest" {
			t.Fatalf("fork of vers/base:latest = %+v", out)
		}
		if got := c.execOK(out.VMID, "test -x /bin/busybox && test -x /bin/bash && echo ok"); strings.TrimSpace(got) != "ok" {
			t.Fatalf("the forked base lacks busybox or bash: %q", got)
		}
	}
	// Nobody can log in as the built-in org; its commit is not anyone's.
	if _, ok := s.KeyOf(BuiltinOrg); ok {
		t.Fatal("the built-in org has a key without being given one")
	}
	a.must(404, "POST", "/api/v1/vm/from_commit", map[string]any{"commit_id": tag.CommitID}, nil)
}

// Misconfigured organisations stop Start with a message that names the
// organisations and never a key.
func TestOrgOptionsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		orgs []OrgKey
		want string
	}{
		{[]OrgKey{{Name: "local", APIKey: "k2-secret"}}, `"local" is configured twice`},
		{[]OrgKey{{Name: "a", APIKey: "k2-secret"}, {Name: "a", APIKey: "k3-secret"}}, `"a" is configured twice`},
		{[]OrgKey{{Name: "a", APIKey: testKey}}, `"local" and "a" have the same API key`},
		{[]OrgKey{{Name: "a/b", APIKey: "k2-secret"}}, "may contain only"},
		{[]OrgKey{{Name: "a", APIKey: ""}}, `"a" has an empty API key`},
	} {
		_, err := Start(t.Context(), Options{DataDir: t.TempDir(), APIKey: testKey, Orgs: tc.orgs})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("orgs %v: %v, want %q", tc.orgs, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), testKey)) {
			t.Errorf("the error shows a key: %v", err)
		}
	}
}

// A restart keeps every organisation's objects apart and vers/base:latest
// on the same commit.
func TestOrgsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	withOther := func(o *Options) { o.Orgs = []OrgKey{{Name: "other", APIKey: otherOrgKey}} }
	s := startTest(t, dir, withOther)
	b := newClient(t, s)
	b.key = otherOrgKey
	vm := b.newRoot()
	b.must(201, "POST", "/api/v1/repositories", map[string]any{"name": "kept"}, nil)
	var before vers.RepoTagInfo
	b.must(200, "GET", "/api/v1/public/repositories/vers/base/tags/latest", nil, &before)
	s.Close()

	s = startTest(t, dir, withOther)
	a, b := newClient(t, s), newClient(t, s)
	b.key = otherOrgKey
	b.must(200, "GET", "/api/v1/vm/"+vm+"/status", nil, nil)
	b.must(200, "GET", "/api/v1/repositories/kept", nil, nil)
	a.must(404, "GET", "/api/v1/vm/"+vm+"/status", nil, nil)
	a.must(404, "GET", "/api/v1/repositories/kept", nil, nil)
	var after vers.RepoTagInfo
	b.must(200, "GET", "/api/v1/public/repositories/vers/base/tags/latest", nil, &after)
	if after.CommitID != before.CommitID {
		t.Fatalf("vers/base:latest moved across a restart: %s → %s", before.CommitID, after.CommitID)
	}
}
