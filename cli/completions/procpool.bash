# bash completion for procpool(1)                                        -*- shell-script -*-
# Installed as share/bash-completion/completions/procpool, where bash-completion loads it the
# first time procpool is completed; it also works sourced on its own (`source procpool.bash`).
# The option lists are procpool's own: tests/install_test.cc fails when they differ from what
# `procpool run --help` and `procpool map --help` list.

# Options of both run and map: flags, then options that take a value.
_procpool_common_flags='-h --help -q --quiet -v --verbose --dry-run -k --keep-order --tag
  --line-buffer --lb --ci-job-commands --progress --fail-fast --resume --resume-failed --slurm'
_procpool_common_valued='-j --jobs --format --ci --color --max-tasks-per-worker --delay --load
  --memfree --timings --shard --timeout --term-seq --retries --retry-delay --retry-on --halt
  --mem-limit --cpu-limit --nice --junit --joblog --journal --results --trace --report --ssh
  --ssh-file --ssh-cmd --remote-procpool --worker-timeout'
_procpool_run_flags='--lines'
_procpool_map_flags='-0 --null --link --xapply --csv --shuf -r --no-run-if-empty --will-cite
  --group --quote --pipe --spreadstdin -X -m --xargs'
_procpool_map_valued='-a --arg-file --arg-sep --arg-file-sep -C --colsep --header --trim -I -d
  --delimiter -E --tagstring --block --block-size --recstart --recend -n --max-args -N
  --max-replace-args --max-lines -L -s --max-chars'

# Files (or, with -d, directories) matching $cur: bash-completion's _filedir when it is loaded
# (quoting, ~), else compgen.
_procpool_files() {
  if declare -F _filedir >/dev/null; then
    _filedir "$@"
    return
  fi
  compopt -o filenames 2>/dev/null
  if [[ $1 == -d ]]; then
    mapfile -t COMPREPLY < <(compgen -d -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
}

# The words of $1 that start with $cur.
_procpool_words() {
  mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
}

# Whether option $1 takes a value (the next word).
_procpool_takes_value() {
  local w
  for w in $_procpool_common_valued $_procpool_map_valued; do
    [[ $w == "$1" ]] && return 0
  done
  return 1
}

# Completes the value of option $1; returns 1 when $1 takes no value.
_procpool_value() {
  _procpool_takes_value "$1" || [[ $1 == --cwd ]] || return 1
  case $1 in
    --format) _procpool_words 'text jsonl' ;;
    --ci) _procpool_words 'auto github gitlab plain' ;;
    --color) _procpool_words 'auto always never' ;;
    --trim) _procpool_words 'n l r lr' ;;
    --halt)
      _procpool_words 'never now,fail=1 soon,fail=1 now,success=1 soon,success=1 now,done=1
        soon,done=1'
      ;;
    --retry-on)  # a comma-separated list: complete its last item
      local done=${cur%"${cur##*,}"}
      mapfile -t COMPREPLY < <(compgen -P "$done" -W 'failed timeout crashed' -- "${cur##*,}")
      ;;
    --timings | --junit | --joblog | --journal | --trace | --report | --ssh-file | \
      --remote-procpool | -a | --arg-file)
      _procpool_files
      ;;
    --results | --cwd) _procpool_files -d ;;
    --ssh) mapfile -t COMPREPLY < <(compgen -A hostname -- "$cur") ;;
    --ssh-cmd) mapfile -t COMPREPLY < <(compgen -c -- "$cur") ;;
    *) COMPREPLY=() ;;  # a number, a duration, a size: nothing to guess
  esac
  return 0
}

_procpool() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=""
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  # COMP_WORDBREAKS splits --format=jsonl into the words "--format" "=" "jsonl".
  if [[ $cur == = ]]; then
    cur=""
  elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
    prev=${COMP_WORDS[COMP_CWORD - 2]}
  fi
  COMPREPLY=()

  # The subcommand; for map, whether the template began before the word completed (everything
  # from the template on is the command's and its inputs', not procpool's).
  local sub="" i word skip=0 dashdash=0 template=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    if [[ -z $sub ]]; then
      [[ $word == -* ]] || sub=$word
      continue
    fi
    [[ $sub == map ]] || break
    if ((skip)); then
      skip=0  # an option's value
    elif [[ $word == = ]]; then
      skip=1  # --opt = value
    elif [[ ${COMP_WORDS[i + 1]} == = ]]; then
      :  # the --opt of --opt = value
    elif [[ $word == -- ]] && ((!dashdash)); then
      dashdash=1
    elif [[ $word == -* ]] && ((!dashdash)); then
      _procpool_takes_value "$word" && skip=1
    else
      template=1
      break
    fi
  done

  case $sub in
    "")
      if [[ $cur == -* ]]; then
        _procpool_words '-h --help --version'
      else
        _procpool_words 'run map help worker'
      fi
      ;;
    help) [[ $prev == help ]] && _procpool_words 'run map' ;;
    run)
      [[ $prev == -* ]] && _procpool_value "$prev" && return 0
      if [[ $cur == -* ]]; then
        _procpool_words "$_procpool_common_flags $_procpool_common_valued $_procpool_run_flags"
      else
        _procpool_files  # the job file
      fi
      ;;
    map)
      if ((template)); then
        _procpool_files  # the command's arguments and the inputs: mostly files
        return 0
      fi
      ((!dashdash)) && [[ $prev == -* ]] && _procpool_value "$prev" && return 0
      if [[ $cur == -* ]] && ((!dashdash)); then
        _procpool_words "$_procpool_common_flags $_procpool_common_valued $_procpool_map_flags
          $_procpool_map_valued"
      else
        mapfile -t COMPREPLY < <(compgen -c -- "$cur")  # the template's command
      fi
      ;;
    worker)
      [[ $prev == --cwd ]] && _procpool_value "$prev" && return 0
      _procpool_words '--cwd'
      ;;
  esac
  return 0
}

complete -F _procpool procpool
