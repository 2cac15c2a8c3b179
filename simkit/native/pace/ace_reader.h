// Typed reads out of parsed YAML, shared by the .yace and active-set readers.
#ifndef SIMKIT_PACE_ACE_READER_H
#define SIMKIT_PACE_ACE_READER_H

#include "ace_yaml.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <system_error>
#include <vector>

namespace simkit_pace {

// Reads typed values out of YAML nodes; each failure names the dotted key path
// and the source line so a user can jump to the problem.
class Reader {
 public:
  [[noreturn]] static void fail(const std::string &key, const YamlNode *node, const std::string &what)
  {
    std::string where = key.empty() ? "top level" : "`" + key + "`";
    if (node && node->line > 0) where += " (line " + std::to_string(node->line) + ")";
    throw FormatError(where + ": " + what);
  }

  static const YamlNode &get(const YamlNode &map, const std::string &name, const std::string &path)
  {
    std::string key = path.empty() ? name : path + "." + name;
    if (!map.is_mapping()) fail(path, &map, "expected a mapping, got '" + map.brief() + "'");
    const YamlNode *n = map.find(name);
    if (!n) fail(key, &map, "missing");
    return *n;
  }

  static double number(const YamlNode &n, const std::string &key)
  {
    if (!n.is_scalar()) fail(key, &n, "expected a number, got '" + n.brief() + "'");
    // from_chars ignores the C locale, so a host program's LC_NUMERIC cannot
    // change how "0.5" is read
    const std::string &t = n.text;
    const char *begin = t.data() + ((!t.empty() && t[0] == '+') ? 1 : 0), *end = t.data() + t.size();
    double v = 0.0;
    auto [ptr, ec] = std::from_chars(begin, end, v);
    if (ec != std::errc() || ptr != end || begin == end || !std::isfinite(v))
      fail(key, &n, "expected a finite number, got '" + t + "'");
    return v;
  }

  static int integer(const YamlNode &n, const std::string &key, long lo, long hi)
  {
    if (!n.is_scalar()) fail(key, &n, "expected an integer, got '" + n.brief() + "'");
    const char *s = n.text.c_str();
    char *end = nullptr;
    errno = 0;
    long v = std::strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE)
      fail(key, &n, "expected an integer, got '" + n.text + "'");
    if (v < lo || v > hi)
      fail(key, &n, "value " + n.text + " outside the allowed range " + std::to_string(lo) + ".." +
                        std::to_string(hi));
    return static_cast<int>(v);
  }

  static std::string text(const YamlNode &n, const std::string &key)
  {
    if (!n.is_scalar()) fail(key, &n, "expected a name, got '" + n.brief() + "'");
    return n.text;
  }

  static const YamlNode &sequence(const YamlNode &n, const std::string &key)
  {
    if (!n.is_sequence()) fail(key, &n, "expected a list, got '" + n.brief() + "'");
    return n;
  }

  static std::vector<double> numbers(const YamlNode &n, const std::string &key)
  {
    std::vector<double> out;
    for (size_t i = 0; i < sequence(n, key).items.size(); ++i)
      out.push_back(number(n.items[i], key + "[" + std::to_string(i) + "]"));
    return out;
  }

  static std::vector<int> integers(const YamlNode &n, const std::string &key, long lo, long hi)
  {
    std::vector<int> out;
    for (size_t i = 0; i < sequence(n, key).items.size(); ++i)
      out.push_back(integer(n.items[i], key + "[" + std::to_string(i) + "]", lo, hi));
    return out;
  }
};

}  // namespace simkit_pace

#endif
