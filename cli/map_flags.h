// Registers `procpool map`'s input flags (GNU parallel's names) on its CLI11 subcommand.
#pragma once

namespace CLI {
class App;
}

namespace procpool {

struct MapOptions;

void add_map_flags(CLI::App* map, MapOptions& options);

}  // namespace procpool
