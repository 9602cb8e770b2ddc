#include "cli/map_flags.h"

#include <CLI/CLI.hpp>

#include "cli/map_inputs.h"

namespace procpool {

void add_map_flags(CLI::App* map, MapOptions& o) {
  auto* inputs = "Inputs";
  map->add_option("-a,--arg-file", o.arg_files,
                  "an input source: FILE's lines (- for stdin), as :::: FILE; before the "
                  "sources after the template; repeatable")
      ->type_name("FILE")
      ->allow_extra_args(false)
      ->group(inputs);
  map->add_option("--arg-sep", o.arg_sep, "the word that starts ::: arguments (default :::)")
      ->type_name("SEP")
      ->group(inputs);
  map->add_option("--arg-file-sep", o.arg_file_sep,
                  "the word that starts :::: files (default ::::)")
      ->type_name("SEP")
      ->group(inputs);
  map->add_flag("--link,--xapply", o.link,
                "pair the sources up (value N of each) instead of every combination; a shorter "
                "source wraps around (:::+ and ::::+ link one source, without wrapping)")
      ->group(inputs);
  map->add_option("-C,--colsep", o.colsep,
                  "split each input into columns {1} {2} ... at REGEX; trims blanks around "
                  "them (--trim n keeps them)")
      ->type_name("REGEX")
      ->group(inputs);
  map->add_flag("--csv", o.csv,
                "each input is a CSV record (RFC 4180: quoted fields may hold separators, \"\" "
                "and line breaks); --colsep sets the separator (default ,)")
      ->group(inputs);
  map->add_option("--header", o.header,
                  "the first input of each source names the columns: {name} {name.} {name/} "
                  "...; --header : (split at --colsep, or at tabs)")
      ->type_name("REGEX|:")
      ->group(inputs);
  map->add_option("--trim", o.trim,
                  "strip blanks from each value: n (none), l, r, lr (both; the default with "
                  "--colsep)")
      ->type_name("n|l|r|lr")
      ->group(inputs);
  map->add_flag("--shuf", o.shuf,
                "start the jobs in random order (all input is read first); ids, {#} and -k "
                "stay in input order")
      ->group(inputs);
  map->add_option("-I", o.replace, "STR instead of {} in the template (as xargs -I)")
      ->type_name("STR")
      ->group(inputs);
  map->add_option("-d,--delimiter", o.delimiter,
                  "inputs end with character C, not a newline (\\n \\t \\0 \\xHH escapes)")
      ->type_name("C")
      ->group(inputs);
  map->add_option("-E", o.eof, "an input equal to STR ends its source: nothing after it is read")
      ->type_name("STR")
      ->group(inputs);
  map->add_flag("-r,--no-run-if-empty", o.no_run_if_empty,
                "leave out inputs that are empty or blanks only")
      ->group(inputs);
  map->add_flag("--will-cite,--group", o.gnu_no_ops,
                "accepted for GNU parallel's scripts; nothing to do (no notice to silence, and "
                "output is grouped by job already)")
      ->group(inputs);
  map->add_flag("--quote", o.quote,
                "run the template's words as they are, each one argument, not through the "
                "shell's eyes (GNU parallel's -q; procpool's -q is --quiet)")
      ->group(inputs);
  auto* pipe = "Inputs: blocks of stdin (--pipe)";
  map->add_flag("--pipe,--spreadstdin", o.pipe,
                "cut stdin into blocks of whole records, each the stdin of one job (no ::: "
                "inputs); -k keeps the blocks' order")
      ->group(pipe);
  map->add_option("--block,--block-size", o.block,
                  "with --pipe: blocks of at most SIZE bytes (K M G: powers of 1024; k m g: of "
                  "1000), unless one record is longer (default 1M)")
      ->type_name("SIZE")
      ->group(pipe);
  map->add_option("--recstart", o.recstart,
                  "with --pipe: records start with STR (\\n \\t \\0 \\xHH escapes)")
      ->type_name("STR")
      ->group(pipe);
  map->add_option("--recend", o.recend,
                  "with --pipe: records end with STR (default \\n; '' cuts anywhere); -N N: "
                  "N records a block")
      ->type_name("STR")
      ->group(pipe);
  auto* several = "Inputs: several a job";
  map->add_option("-n,--max-args", o.max_args,
                  "at most N inputs a job, where {} is (0: one input, none in the command)")
      ->type_name("N")
      ->group(several);
  map->add_option("-N,--max-replace-args", o.max_replace_args,
                  "at most N inputs a job, {1}..{N} each; a word holding {} is repeated per "
                  "input")
      ->type_name("N")
      ->group(several);
  map->add_option("--max-lines", o.max_lines_each,
                  "as -L, with the lines where {} is (GNU parallel's -l: words not repeated)")
      ->type_name("N")
      ->group(several);
  map->add_option("-L", o.max_lines,
                  "at most N input lines a job (a line ending in a blank goes on on the next); "
                  "words holding {} repeated")
      ->type_name("N")
      ->group(several);
  map->add_flag("-X", o.context_replace,
                "as many inputs as fit one command line, a word holding {} repeated per input "
                "(pic{}.jpg -> pica.jpg picb.jpg); input that fits one line is spread over the "
                "workers")
      ->group(several);
  map->add_flag(
         "-m", o.multiple,
         "as many inputs as fit one command line, all where {} is (pre-{}-post -> pre-a b-post)")
      ->group(several);
  map->add_flag("--xargs", o.xargs, "as -m, and never spread over the workers")->group(several);
  map->add_option("-s,--max-chars", o.max_chars,
                  "commands at most N bytes long (default and most: what this system takes)")
      ->type_name("N")
      ->group(several);
  map->add_option("--tagstring", o.tagstring,
                  "name each job STR, replacement strings expanded (values as they are, not "
                  "quoted; {%} is not known yet), and tag its lines with it (implies --tag)")
      ->type_name("STR")
      ->group("Output");  // with the other Output options
}

}  // namespace procpool
