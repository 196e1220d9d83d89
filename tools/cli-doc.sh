#!/usr/bin/env bash
# docs/cli.md from the binary's own help, so the page cannot drift from the command it describes.
#
#   tools/cli-doc.sh SCN_BINARY                      prints the Markdown of docs/cli.md
#   tools/cli-doc.sh SCN_BINARY --check docs/cli.md  exits 0 when the file is what the binary's help gives,
#                                                    else 1 with a unified diff and the command that rewrites it
#
# The page is a short introduction, then one section per subcommand with its part of `SCN_BINARY --help-all`
# in a fenced block; subcommands of subcommands, which --help-all lists but does not expand (`scn data
# convert`), get the output of their own --help. Help text appears only inside fences, each fence one
# backtick longer than the longest run of backticks in its text (at least three), so no help text can
# close its block or turn into Markdown. When the help does not have the expected layout (a subcommand at
# the start of a line after a top-level "Subcommands:"), the whole of --help-all is one block.
# Exit status: 0 done (or up to date), 1 out of date, 2 bad usage or a binary that gives no help.
# Pure bash and standard tools (awk, diff); the output does not depend on the locale or the terminal.
# shellcheck disable=SC2016  # the backticks in single-quoted strings are Markdown, meant literally
set -euo pipefail
shopt -s inherit_errexit
export LC_ALL=C

self=${0##*/}
usage() {
  echo "usage: $self SCN_BINARY [--check FILE]" >&2
  exit 2
}
fail() {
  echo "$self: $*" >&2
  exit 2
}

if [[ $# -eq 1 ]]; then
  check_file=""
elif [[ $# -eq 3 && $2 == --check ]]; then
  check_file=$3
else
  usage
fi
scn=$1
[[ -f $scn && -x $scn ]] || fail "$scn is not an executable file"
# A bare name would be looked up in PATH by the shell; run the file that was named.
[[ $scn == */* ]] || scn=./$scn

# --- help text ----------------------------------------------------------------------------------------

# help_of ARGS...: what the binary prints on stdout for ARGS (its stderr passes through: a warning about the
# machine must not end up in the page), or exit 2 naming the command.
help_of() {
  local out rc=0
  out=$("$scn" "$@" </dev/null) || rc=$?
  ((rc == 0)) || fail "'$scn $*' failed with exit status $rc"
  [[ -n $out ]] || fail "'$scn $*' printed nothing"
  printf '%s\n' "$out"
}

# Every line without trailing white space, and without leading or trailing blank lines.
tidy() {
  awk '{ sub(/[ \t\r]+$/, "") }
       NF == 0 { blank++; next }
       { if (seen) while (blank-- > 0) print ""; blank = 0; seen = 1; print }'
}

# The fence for a text: one backtick more than its longest run of backticks, at least three.
fence_for() {
  printf '%s\n' "$1" | awk '{ s = $0; while (match(s, /`+/)) { if (RLENGTH > m) m = RLENGTH; s = substr(s, RSTART + RLENGTH) } }
                            END { n = m + 1; if (n < 3) n = 3; for (i = 0; i < n; i++) printf "`"; print "" }'
}

block() {  # block TEXT: TEXT in a fenced block
  local fence
  fence=$(fence_for "$1")
  printf '%s\n%s\n%s\n' "$fence" "$1" "$fence"
}

valid_name() { [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]]; }

help_all=$(help_of --help-all | tidy)

# Split --help-all: the top-level part before the line "Subcommands:", then one part per subcommand, which
# starts with its name alone at the start of a line and continues with lines indented by two spaces.
names=()
parts=()
top=""
split_ok=false
mapfile -t lines <<<"$help_all"
for ((i = 0; i < ${#lines[@]}; ++i)); do
  [[ ${lines[i]} == "Subcommands:" ]] || continue
  top=$(printf '%s\n' "${lines[@]:0:i}" | tidy)
  split_ok=true
  current=-1
  for ((j = i + 1; j < ${#lines[@]}; ++j)); do
    line=${lines[j]}
    if [[ -z $line ]]; then
      ((current >= 0)) && parts[current]+=$'\n'
    elif [[ $line == "  "* ]]; then
      ((current >= 0)) || { split_ok=false; break; }
      parts[current]+="${line:2}"$'\n'
    elif valid_name "$line"; then
      names+=("$line")
      parts+=("")
      current=$((${#names[@]} - 1))
    else
      split_ok=false
      break
    fi
  done
  break
done
[[ $split_ok == true && ${#names[@]} -gt 0 && -n $top ]] || split_ok=false

# The subcommands a part lists under its own "Subcommands:" (indented entries, name first).
nested_names() {
  printf '%s\n' "$1" | awk '/^Subcommands:$/ { inside = 1; next }
                            inside && /^  +[^ ]/ { print $1; next }
                            inside { inside = 0 }'
}

# --- the page -----------------------------------------------------------------------------------------

generate() {
  cat <<'EOF'
# The `scn` command line

This page is the help that `scn` itself prints (`scn --help-all`, and `scn data convert --help` and the like
for the subcommands of a subcommand), gathered in one place. It is generated: do not edit it by hand, but run
`tools/cli-doc.sh build/scn > docs/cli.md` after changing an option or its text; the test
`docs.cli_matches_help` fails while the two differ. Every command that takes a config also takes overrides
`key.path=value` after it; the keys and their defaults are in [configs/README.md](../configs/README.md), what
the files a run writes hold is in [design.md](design.md#files). Exit status: 0 on success, 1 on an error
(with a message naming the file or value at fault), 2 on bad usage, 128 + the signal when a training run is
stopped by SIGINT or SIGTERM after saving its checkpoint, or another command by SIGINT or SIGTERM (it removes
the temporary file of a write under way and says so).
EOF
  if [[ $split_ok != true ]]; then
    printf '\n## `scn`\n\n'
    block "$help_all"
    return
  fi
  printf '\nCommands:'
  local sep=" " k
  for k in "${names[@]}"; do
    printf '%s[`%s`](#scn-%s)' "$sep" "$k" "${k//./}"
    sep=", "
  done
  printf '.\n\n## `scn`\n\n'
  block "$top"
  local idx name part sub subs text
  for idx in "${!names[@]}"; do
    name=${names[idx]}
    part=$(printf '%s' "${parts[idx]}" | tidy)
    printf '\n## `scn %s`\n\n' "$name"
    block "$part"
    subs=$(nested_names "$part")
    while IFS= read -r sub; do
      [[ -n $sub ]] || continue
      valid_name "$sub" || fail "'$scn --help-all' lists an unexpected subcommand of $name: '$sub'"
      text=$(help_of "$name" "$sub" --help | tidy)
      printf '\n### `scn %s %s`\n\n' "$name" "$sub"
      block "$text"
    done <<<"$subs"
  done
}

doc=$(generate)

if [[ -z $check_file ]]; then
  printf '%s\n' "$doc"
  exit 0
fi

[[ -f $check_file ]] || {
  echo "$self: $check_file does not exist; write it with:" >&2
  printf '  %q %q > %q\n' "$0" "$1" "$check_file" >&2
  exit 1
}
rc=0
diff_out=$(diff -u --label "$check_file" --label "$check_file as the help of $1 gives it" \
             "$check_file" <(printf '%s\n' "$doc")) || rc=$?
((rc == 0)) && exit 0
((rc == 1)) || fail "cannot compare $check_file (diff exit status $rc)"
printf '%s\n' "$diff_out"
echo "$check_file is out of date with the help of $1; regenerate it with:" >&2
printf '  %q %q > %q\n' "$0" "$1" "$check_file" >&2
exit 1
