# fish completion for procpool(1). Installed as share/fish/vendor_completions.d/procpool.fish,
# where fish looks when procpool is first completed. The option lists are procpool's own:
# tests/install_test.cc fails when they differ from what `procpool run --help` and
# `procpool map --help` list.

# Options of run and map that take a value: the word after one is its value.
set -g __procpool_valued j jobs format ci color max-tasks-per-worker delay load memfree timings \
    shard timeout term-seq retries retry-delay retry-on halt mem-limit cpu-limit nice junit joblog \
    journal results trace report ssh ssh-file ssh-cmd remote-procpool worker-timeout \
    a arg-file arg-sep arg-file-sep C colsep header trim I d delimiter E tagstring block \
    block-size recstart recend n max-args N max-replace-args max-lines L s max-chars

# The subcommand on the command line, or nothing.
function __procpool_subcommand
    for word in (commandline -opc)[2..-1]
        switch $word
            case '-*'
            case '*'
                echo $word
                return 0
        end
    end
    return 1
end

# True while the word being completed is among procpool's options of subcommand $argv[1]: for
# map, before the template (from the template on, every word is the command's and its inputs').
function __procpool_options_of
    set -l words (commandline -opc)
    set -l sub (__procpool_subcommand)
    test "$sub" = $argv[1]; or return 1
    test $argv[1] = map; or return 0
    set -l seen 0
    set -l skip 0
    for word in $words[2..-1]
        if test $seen = 0
            string match -q -- '-*' $word; or set seen 1
            continue
        end
        if test $skip = 1
            set skip 0
        else if test "$word" = --
            return 1
        else if string match -q -- '-*' $word
            # -j 4 and --jobs 4, not -j4 or --jobs=4
            set -l name (string replace -r -- '^--?' '' $word)
            if not string match -q -- '*=*' $word; and contains -- $name $__procpool_valued
                string match -q -r -- '^(-[^-]|--..+)$' $word; and set skip 1
            end
        else
            return 1
        end
    end
    return 0
end

# The template's command: the first word after map's options.
function __procpool_at_template
    __procpool_options_of map; or return 1
    set -l token (commandline -ct)
    not string match -q -- '-*' $token
end

# From the template on: the command's arguments and the inputs, mostly files.
function __procpool_after_template
    set -l sub (__procpool_subcommand)
    test "$sub" = map; and not __procpool_options_of map
end

complete -c procpool -f

# procpool itself
complete -c procpool -n 'not __procpool_subcommand' -s h -l help -d 'Print the subcommands and exit'
complete -c procpool -n 'not __procpool_subcommand' -l version -d 'Print the version and exit'
complete -c procpool -n 'not __procpool_subcommand' -a run -d 'Run a job file, or with --lines one shell command per line'
complete -c procpool -n 'not __procpool_subcommand' -a map -d 'Run TEMPLATE once per input'
complete -c procpool -n 'not __procpool_subcommand' -a help -d "procpool's commands, or a command's options"
complete -c procpool -n 'not __procpool_subcommand' -a worker -d 'The worker side of a pool (started by procpool)'

# procpool help COMMAND
function __procpool_help_topic
    set -l words (commandline -opc)
    test (count $words) = 2; and test "$words[2]" = help
end
complete -c procpool -n __procpool_help_topic -a 'run map'

# procpool worker
complete -c procpool -n '__procpool_options_of worker' -l cwd -x -a '(__fish_complete_directories)' -d 'Working directory of the jobs'

# procpool run: the job file, and --lines
complete -c procpool -n '__procpool_options_of run' -F -d 'Job file (- for stdin)'
complete -c procpool -n '__procpool_options_of run' -l lines -d 'FILE holds one shell command per line'

# procpool map: the template's command, then files; and map's own options
complete -c procpool -n __procpool_at_template -x -a '(__fish_complete_command)'
complete -c procpool -n __procpool_after_template -F
set -l m '__procpool_options_of map'
complete -c procpool -n $m -s 0 -l null -d 'Inputs are separated by NUL, not newline'
complete -c procpool -n $m -s a -l arg-file -r -F -d "An input source: FILE's lines, as after ::::"
complete -c procpool -n $m -l arg-sep -x -d 'The word that starts ::: arguments'
complete -c procpool -n $m -l arg-file-sep -x -d 'The word that starts :::: files'
complete -c procpool -n $m -l link -d 'Pair the sources up instead of every combination'
complete -c procpool -n $m -l xapply -d 'Same as --link'
complete -c procpool -n $m -s C -l colsep -x -d 'Split each input into columns {1} {2} ... at REGEX'
complete -c procpool -n $m -l csv -d 'Each input is a CSV record'
complete -c procpool -n $m -l header -x -d 'The first input of each source names the columns'
complete -c procpool -n $m -l trim -x -a 'n\tnone l\tleft r\tright lr\tboth' -d 'Strip blanks from each value'
complete -c procpool -n $m -l shuf -d 'Start the jobs in random order'
complete -c procpool -n $m -s I -x -d 'STR instead of {} in the template'
complete -c procpool -n $m -s d -l delimiter -x -d 'Inputs end with character C, not a newline'
complete -c procpool -n $m -s E -x -d 'An input equal to STR ends its source'
complete -c procpool -n $m -s r -l no-run-if-empty -d 'Leave out inputs that are empty or blanks only'
complete -c procpool -n $m -l will-cite -d "Accepted for GNU parallel's scripts; nothing to do"
complete -c procpool -n $m -l group -d "Accepted for GNU parallel's scripts; nothing to do"
complete -c procpool -n $m -l quote -d "Run the template's words as they are, each one argument"
complete -c procpool -n $m -l tagstring -x -d 'Name each job STR and tag its lines with it'
complete -c procpool -n $m -l pipe -d 'Cut stdin into blocks, each the stdin of one job'
complete -c procpool -n $m -l spreadstdin -d 'Same as --pipe'
complete -c procpool -n $m -l block -x -d 'With --pipe: blocks of at most SIZE bytes'
complete -c procpool -n $m -l block-size -x -d 'Same as --block'
complete -c procpool -n $m -l recstart -x -d 'With --pipe: records start with TEXT'
complete -c procpool -n $m -l recend -x -d 'With --pipe: records end with TEXT'
complete -c procpool -n $m -s n -l max-args -x -d 'At most N inputs a job, where {} is'
complete -c procpool -n $m -s N -l max-replace-args -x -d 'At most N inputs a job, {1}..{N} each'
complete -c procpool -n $m -l max-lines -x -d 'As -L, with the lines where {} is'
complete -c procpool -n $m -s L -x -d 'At most N input lines a job'
complete -c procpool -n $m -s X -d 'As many inputs as fit one command line, words repeated'
complete -c procpool -n $m -s m -d 'As many inputs as fit one command line, all where {} is'
complete -c procpool -n $m -l xargs -d 'As -m, and never spread over the workers'
complete -c procpool -n $m -s s -l max-chars -x -d 'Commands at most N bytes long'

# Both run and map
for sub in run map
    set -l c "__procpool_options_of $sub"
    complete -c procpool -n $c -s h -l help -d 'Print the options of the command and exit'
    complete -c procpool -n $c -s j -l jobs -x -d 'Jobs at once: N, N%, +N/-N CPUs, 0 for as many as possible'
    complete -c procpool -n $c -l format -x -a 'text jsonl' -d 'Output format'
    complete -c procpool -n $c -s q -l quiet -d "Only the jobs' output and errors"
    complete -c procpool -n $c -s v -l verbose -d 'Debug detail: worker starts, frames'
    complete -c procpool -n $c -l dry-run -d 'Print the commands in start order; run nothing'
    complete -c procpool -n $c -s k -l keep-order -d 'Report in input order'
    complete -c procpool -n $c -l tag -d "Start every output line with the job's name and a tab"
    complete -c procpool -n $c -l line-buffer -d 'Print output lines as they arrive'
    complete -c procpool -n $c -l lb -d 'Same as --line-buffer'
    complete -c procpool -n $c -l ci -x -a 'auto github gitlab plain' -d "Fold each job's block in the CI log"
    complete -c procpool -n $c -l ci-job-commands -d "Let the CI obey its markup in the jobs' output"
    complete -c procpool -n $c -l progress -d 'A periodic status line even when stderr is not a terminal'
    complete -c procpool -n $c -l color -x -a 'auto always never' -d 'Colour headers'
    complete -c procpool -n $c -l max-tasks-per-worker -x -d 'Replace a worker after this many jobs'
    complete -c procpool -n $c -l delay -x -d 'Wait at least this long between job starts'
    complete -c procpool -n $c -l load -x -d 'Start a job only while the load average is below N'
    complete -c procpool -n $c -l memfree -x -d 'Start a job only while SIZE of memory is available'
    complete -c procpool -n $c -l timings -r -F -d 'Past durations: a journal or a JUnit XML report'
    complete -c procpool -n $c -l shard -x -d 'Run only shard K of N (K/N)'
    complete -c procpool -n $c -l timeout -x -d 'Default time limit per attempt'
    complete -c procpool -n $c -l term-seq -x -d "How a timed-out job's process group is ended"
    complete -c procpool -n $c -l retries -x -d 'Default extra attempts after a failure'
    complete -c procpool -n $c -l retry-delay -x -d 'Wait before the first retry, doubled for each later one'
    complete -c procpool -n $c -l retry-on -x -a '(__fish_append , failed timeout crashed)' -d 'Which endings are retried'
    complete -c procpool -n $c -l halt -x -a 'never now,fail=1 soon,fail=1 now,success=1 soon,success=1 now,done=1 soon,done=1' -d 'Stop early'
    complete -c procpool -n $c -l fail-fast -d 'Same as --halt now,fail=1'
    complete -c procpool -n $c -l mem-limit -x -d 'Address-space limit per job'
    complete -c procpool -n $c -l cpu-limit -x -d 'CPU-time limit per job'
    complete -c procpool -n $c -l nice -x -d 'Niceness increment for every job (0..19)'
    complete -c procpool -n $c -l junit -r -F -d 'Write a JUnit XML report to FILE'
    complete -c procpool -n $c -l joblog -r -F -d "GNU parallel's job log (+FILE appends)"
    complete -c procpool -n $c -l journal -r -F -d 'Append a JSON line per finished job to FILE'
    complete -c procpool -n $c -l resume -d 'With --journal: skip the jobs that already succeeded'
    complete -c procpool -n $c -l resume-failed -d 'Same as --resume'
    complete -c procpool -n $c -l results -x -a '(__fish_complete_directories)' -d "Keep each job's output in DIR"
    complete -c procpool -n $c -l trace -r -F -d 'Write a Chrome trace (JSON) of the batch'
    complete -c procpool -n $c -l report -r -F -d 'Write a self-contained HTML report'
    complete -c procpool -n $c -l ssh -x -a '(__fish_print_hostnames)' -d 'Run workers on HOST through ssh'
    complete -c procpool -n $c -l ssh-file -r -F -d 'The --ssh hosts, one a line'
    complete -c procpool -n $c -l ssh-cmd -x -a '(__fish_complete_command)' -d 'The command used instead of plain ssh'
    complete -c procpool -n $c -l remote-procpool -r -F -d "procpool's path on the other hosts"
    complete -c procpool -n $c -l slurm -d 'Run each worker slot as a Slurm task (--slurm=SRUN-ARGS)'
    complete -c procpool -n $c -l worker-timeout -x -d 'How long a worker may take to start'
end
