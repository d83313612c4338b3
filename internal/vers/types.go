// Package vers is a small typed client for the Vers HTTP API (see DESIGN.md).
//
// The wire types in this file are shared by the client and by versd, the
// local server, so that both sides agree on field names by construction.
package vers

// VM states as the server reports them (always lowercase).
const (
	VMStateBooting  = "booting"
	VMStateRunning  = "running"
	VMStatePaused   = "paused"
	VMStateSleeping = "sleeping"
	VMStateDead     = "dead"
)

// VM state values accepted by PATCH /vm/{id}/state (capitalised on the wire).
const (
	VMTargetPaused  = "Paused"
	VMTargetRunning = "Running"
)

// VMConfig is the body of POST /vm/new_root under "vm_config".
type VMConfig struct {
	VcpuCount  *int64            `json:"vcpu_count,omitempty"`
	MemSizeMib *int64            `json:"mem_size_mib,omitempty"`
	FsSizeMib  *int64            `json:"fs_size_mib,omitempty"`
	ImageName  string            `json:"image_name,omitempty"`
	KernelName string            `json:"kernel_name,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
}

// NewRootRequest is the body of POST /vm/new_root.
type NewRootRequest struct {
	VMConfig VMConfig `json:"vm_config"`
}

// FromCommitRequest is the body of POST /vm/from_commit. Exactly one field is set.
type FromCommitRequest struct {
	CommitID string `json:"commit_id,omitempty"`
	TagName  string `json:"tag_name,omitempty"`
	Ref      string `json:"ref,omitempty"`
}

// NewVMResponse answers new_root and from_commit.
type NewVMResponse struct {
	VMID string `json:"vm_id"`
}

// NewVMsResponse answers the branch endpoints.
type NewVMsResponse struct {
	VMs []NewVMResponse `json:"vms"`
}

// VMDeleteResponse answers DELETE /vm/{id}.
type VMDeleteResponse struct {
	VMID string `json:"vm_id"`
}

// VM is an entry of GET /vms and the body of GET /vm/{id}/status.
type VM struct {
	VMID      string            `json:"vm_id"`
	OwnerID   string            `json:"owner_id"`
	CreatedAt string            `json:"created_at"`
	State     string            `json:"state"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// VMMetadata is the body of GET /vm/{id}/metadata.
type VMMetadata struct {
	VMID            string  `json:"vm_id"`
	OwnerID         string  `json:"owner_id"`
	CreatedAt       string  `json:"created_at"`
	State           string  `json:"state"`
	IP              string  `json:"ip"`
	ParentCommitID  *string `json:"parent_commit_id"`
	GrandparentVMID *string `json:"grandparent_vm_id"`
	DeletedAt       *string `json:"deleted_at"`
}

// VMStateRequest is the body of PATCH /vm/{id}/state.
type VMStateRequest struct {
	State string `json:"state"`
}

// VMDiskRequest is the body of PATCH /vm/{id}/disk.
type VMDiskRequest struct {
	FsSizeMib int64 `json:"fs_size_mib"`
}

// VMLabelRequest is the body of PATCH /vm/{id}/label.
type VMLabelRequest struct {
	Labels map[string]string `json:"labels"`
}

// SSHKeyResponse is the body of GET /vm/{id}/ssh_key. It holds a secret:
// never log it and never store it in Terraform state.
type SSHKeyResponse struct {
	SSHPort       int    `json:"ssh_port"`
	SSHPrivateKey string `json:"ssh_private_key"`
}

// CommitRequest is the optional body of POST /vm/{id}/commit.
type CommitRequest struct {
	CommitID    string `json:"commit_id,omitempty"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// CommitResponse answers POST /vm/{id}/commit.
type CommitResponse struct {
	CommitID string `json:"commit_id"`
}

// ExecRequest is the body of POST /vm/{id}/exec and /exec/stream.
type ExecRequest struct {
	Command     []string          `json:"command"`
	Env         map[string]string `json:"env,omitempty"`
	WorkingDir  string            `json:"working_dir,omitempty"`
	Stdin       string            `json:"stdin,omitempty"`
	TimeoutSecs int64             `json:"timeout_secs,omitempty"`
	ExecID      string            `json:"exec_id,omitempty"`
}

// ExecResponse answers POST /vm/{id}/exec.
type ExecResponse struct {
	ExitCode int     `json:"exit_code"`
	Stdout   string  `json:"stdout"`
	Stderr   string  `json:"stderr"`
	ExecID   *string `json:"exec_id"`
}

// ExecAttachRequest is the body of POST /vm/{id}/exec/stream/attach.
type ExecAttachRequest struct {
	ExecID     string `json:"exec_id"`
	Cursor     *int64 `json:"cursor,omitempty"`
	FromLatest bool   `json:"from_latest,omitempty"`
}

// Exec stream line types.
const (
	StreamLineChunk = "chunk"
	StreamLineExit  = "exit"
	StreamLineError = "error"
)

// StreamLine is one NDJSON line of an exec stream.
type StreamLine struct {
	Type     string `json:"type"`
	Stream   string `json:"stream,omitempty"`
	DataB64  string `json:"data_b64,omitempty"`
	Cursor   int64  `json:"cursor,omitempty"`
	ExecID   string `json:"exec_id,omitempty"`
	ExitCode *int   `json:"exit_code,omitempty"`
	Code     string `json:"code,omitempty"`
	Message  string `json:"message,omitempty"`
}

// ExecLogEntry is an entry of GET /vm/{id}/logs.
type ExecLogEntry struct {
	Timestamp string  `json:"timestamp"`
	Stream    string  `json:"stream"`
	DataB64   string  `json:"data_b64"`
	ExecID    *string `json:"exec_id"`
}

// ExecLogResponse is the body of GET /vm/{id}/logs.
type ExecLogResponse struct {
	Entries    []ExecLogEntry `json:"entries"`
	NextOffset int64          `json:"next_offset"`
	EOF        bool           `json:"eof"`
}

// FileContent is the body of GET /vm/{id}/files.
type FileContent struct {
	ContentB64 string `json:"content_b64"`
}

// PutFileRequest is the body of PUT /vm/{id}/files.
type PutFileRequest struct {
	Path       string `json:"path"`
	ContentB64 string `json:"content_b64"`
	Mode       *int64 `json:"mode,omitempty"`
	CreateDirs bool   `json:"create_dirs,omitempty"`
}

// CommitInfo is an entry of the commit lists and the PATCH /commits/{id} body.
type CommitInfo struct {
	CommitID            string  `json:"commit_id"`
	Name                string  `json:"name"`
	OwnerID             string  `json:"owner_id"`
	CreatedAt           string  `json:"created_at"`
	IsPublic            bool    `json:"is_public"`
	Description         *string `json:"description"`
	ParentVMID          *string `json:"parent_vm_id"`
	GrandparentCommitID *string `json:"grandparent_commit_id"`
}

// CommitEntity is an entry of GET /vm/commits/{id}/parents (keyed "id").
type CommitEntity struct {
	ID                  string  `json:"id"`
	Name                string  `json:"name"`
	OwnerID             string  `json:"owner_id"`
	CreatedAt           string  `json:"created_at"`
	IsPublic            bool    `json:"is_public"`
	Description         *string `json:"description"`
	ParentVMID          *string `json:"parent_vm_id"`
	GrandparentCommitID *string `json:"grandparent_commit_id"`
}

// ListCommitsResponse is the body of GET /commits and /commits/public.
type ListCommitsResponse struct {
	Commits []CommitInfo `json:"commits"`
	Total   int64        `json:"total"`
	Limit   int64        `json:"limit"`
	Offset  int64        `json:"offset"`
}

// UpdateCommitRequest is the body of PATCH /commits/{id}.
type UpdateCommitRequest struct {
	IsPublic    bool    `json:"is_public"`
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
}

// CreateTagRequest is the body of POST /commit_tags.
type CreateTagRequest struct {
	TagName     string `json:"tag_name"`
	CommitID    string `json:"commit_id"`
	Description string `json:"description,omitempty"`
}

// CreateTagResponse answers POST /commit_tags.
type CreateTagResponse struct {
	TagID    string `json:"tag_id"`
	TagName  string `json:"tag_name"`
	CommitID string `json:"commit_id"`
}

// TagInfo is a legacy org-level tag.
type TagInfo struct {
	TagID       string  `json:"tag_id"`
	TagName     string  `json:"tag_name"`
	CommitID    string  `json:"commit_id"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
	Description *string `json:"description"`
}

// ListTagsResponse is the body of GET /commit_tags.
type ListTagsResponse struct {
	Tags []TagInfo `json:"tags"`
}

// UpdateTagRequest is the body of PATCH /commit_tags/{name} and of
// PATCH /repositories/{repo}/tags/{tag}. Description uses three states:
// absent (nil, unchanged), JSON null (ClearDescription, cleared) or a string.
// Marshal it with MarshalJSON below, which implements that distinction.
type UpdateTagRequest struct {
	CommitID         string
	Description      *string
	ClearDescription bool
}

// CreateRepositoryRequest is the body of POST /repositories.
type CreateRepositoryRequest struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// CreateRepositoryResponse answers POST /repositories.
type CreateRepositoryResponse struct {
	RepoID string `json:"repo_id"`
	Name   string `json:"name"`
}

// RepositoryInfo describes one repository of the caller's org.
type RepositoryInfo struct {
	RepoID      string  `json:"repo_id"`
	Name        string  `json:"name"`
	IsPublic    bool    `json:"is_public"`
	CreatedAt   string  `json:"created_at"`
	Description *string `json:"description"`
}

// ListRepositoriesResponse is the body of GET /repositories.
type ListRepositoriesResponse struct {
	Repositories []RepositoryInfo `json:"repositories"`
}

// VisibilityRequest is the body of PATCH /repositories/{name}/visibility.
type VisibilityRequest struct {
	IsPublic bool `json:"is_public"`
}

// ForkRepositoryRequest is the body of POST /repositories/fork.
type ForkRepositoryRequest struct {
	SourceOrg  string `json:"source_org"`
	SourceRepo string `json:"source_repo"`
	SourceTag  string `json:"source_tag"`
	RepoName   string `json:"repo_name,omitempty"`
	TagName    string `json:"tag_name,omitempty"`
}

// ForkRepositoryResponse answers POST /repositories/fork.
type ForkRepositoryResponse struct {
	VMID      string `json:"vm_id"`
	CommitID  string `json:"commit_id"`
	RepoName  string `json:"repo_name"`
	TagName   string `json:"tag_name"`
	Reference string `json:"reference"`
}

// CreateRepoTagRequest is the body of POST /repositories/{repo}/tags.
type CreateRepoTagRequest struct {
	TagName     string `json:"tag_name"`
	CommitID    string `json:"commit_id"`
	Description string `json:"description,omitempty"`
}

// CreateRepoTagResponse answers POST /repositories/{repo}/tags.
type CreateRepoTagResponse struct {
	TagID     string `json:"tag_id"`
	CommitID  string `json:"commit_id"`
	Reference string `json:"reference"`
}

// RepoTagInfo describes one tag of a repository.
type RepoTagInfo struct {
	TagID       string  `json:"tag_id"`
	TagName     string  `json:"tag_name"`
	CommitID    string  `json:"commit_id"`
	Reference   string  `json:"reference"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
	Description *string `json:"description"`
}

// ListRepoTagsResponse is the body of GET /repositories/{repo}/tags.
type ListRepoTagsResponse struct {
	Repository string        `json:"repository"`
	Tags       []RepoTagInfo `json:"tags"`
}

// PublicRepositoryInfo describes a public repository of any org.
type PublicRepositoryInfo struct {
	RepoID      string  `json:"repo_id"`
	Name        string  `json:"name"`
	OrgName     string  `json:"org_name"`
	FullName    string  `json:"full_name"`
	CreatedAt   string  `json:"created_at"`
	Description *string `json:"description"`
}

// ListPublicRepositoriesResponse is the body of GET /public/repositories.
type ListPublicRepositoriesResponse struct {
	Repositories []PublicRepositoryInfo `json:"repositories"`
}

// ErrorResponse is the documented error body.
type ErrorResponse struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
	Success bool   `json:"success"`
}

// EnvVarsResponse answers GET and PUT /env_vars: the account's variables,
// which versd injects into every VM's commands (never into commits).
type EnvVarsResponse struct {
	Vars map[string]string `json:"vars"`
}

// SetEnvVarsRequest is the body of PUT /env_vars. Replace drops every
// variable not in Vars; otherwise Vars is merged in.
type SetEnvVarsRequest struct {
	Vars    map[string]string `json:"vars"`
	Replace bool              `json:"replace"`
}
