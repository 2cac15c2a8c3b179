// A YAML-subset reader sized for the .yace files pacemaker writes.
//
// The potential must load from a plain LAMMPS input (`pair_coeff * * m.yace Si`)
// with nothing but this plugin available, so the plugin cannot lean on a YAML
// library.  The subset covers what pace_yaml2yace emits and what a person is
// likely to hand-edit: block mappings and sequences by indentation, flow
// mappings/sequences (also spanning lines), plain and quoted scalars, comments,
// and flow sequences used as mapping keys (`[0, 1]: {...}`).  Anchors, tags and
// multi-document streams are rejected rather than misread.
#ifndef SIMKIT_PACE_ACE_YAML_H
#define SIMKIT_PACE_ACE_YAML_H

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace simkit_pace {

// Every problem with a potential file is reported through this one type so the
// pair style can turn it into a single LAMMPS error naming file and key.
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct YamlNode {
  enum class Kind { Null, Scalar, Sequence, Mapping };

  Kind kind = Kind::Null;
  std::string text;  // scalar value, quotes removed
  int line = 0;      // 1-based source line, for error messages
  std::vector<YamlNode> items;
  std::vector<std::pair<YamlNode, YamlNode>> entries;

  bool is_scalar() const { return kind == Kind::Scalar; }
  bool is_sequence() const { return kind == Kind::Sequence; }
  bool is_mapping() const { return kind == Kind::Mapping; }

  // Mapping lookup by scalar key; nullptr when absent.
  const YamlNode *find(const std::string &key) const;
  // Mapping lookup by a flow-sequence key of integers, e.g. [0, 1].
  const YamlNode *find_int_pair(int a, int b) const;
  // Short human-readable rendering of a node (used when quoting bad values).
  std::string brief() const;
};

// Parses `text`; throws FormatError("line N: ...") on anything outside the subset.
YamlNode parse_yaml(const std::string &text);

}  // namespace simkit_pace

#endif
