// Package dockerfile turns a literal Dockerfile into the typed, validated
// build steps that vers_build executes on a Vers VM.
//
// Parsing, instruction decoding and $VAR expansion are BuildKit's own
// (frontend/dockerfile/parser, instructions and shell), so a Dockerfile means
// here what it means to `docker build`. This package adds what BuildKit leaves
// to its LLB converter: the builder state (ENV, ARG, WORKDIR, USER) each step
// runs with, Docker's rules for where variables are expanded, destination
// paths resolved against WORKDIR, the final image configuration, and the
// checks that reject what a Vers build cannot do, with the file, the line and
// a sentence saying what to write instead.
//
// Semantics worth knowing:
//
//   - Expansion happens exactly where Docker expands: FROM (with the ARGs
//     declared before it), ENV, ARG defaults, LABEL, WORKDIR, USER, EXPOSE,
//     COPY and ADD (sources, destination, --chown, --chmod). Never in RUN, CMD
//     or ENTRYPOINT: the shell in the VM expands those.
//   - An ARG declared before FROM is visible to FROM only, unless it is
//     declared again after FROM (`ARG NAME` then inherits its value).
//   - Build arguments (Options.BuildArgs) override declared ARGs. One given
//     for an ARG the Dockerfile never declares is ignored with a warning and
//     does not reach BuildArgs, so it cannot change the context hash.
//   - Step.Env is the environment RUN sees: the base image's variables (PATH
//     defaults as in BuildKit), ENV, and the ARGs in scope. ARG values are not
//     persisted: ImageConfig.Env holds ENV only, as in Docker.
//   - The state recorded on a step (Env, WorkDir, User) is the state the step
//     runs with; a metadata step's own effect applies from the next step on.
//
// Parse never panics on any input; every problem comes back as an *Error with
// a line number of at least 1, all of them at once (Errors). BuildKit's parser
// stops at the first syntax error, so a syntax error is reported alone.
package dockerfile
