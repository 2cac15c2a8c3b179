#include "ace_yaml.h"

#include <cstdlib>

namespace simkit_pace {

namespace {

struct Line {
  int indent;
  std::string content;
  int number;
};

[[noreturn]] void fail(int line, const std::string &what)
{
  throw FormatError("line " + std::to_string(line) + ": " + what);
}

// A .yace nests at most 6 levels. Both readers below recurse once per level, so
// the depth is bounded: a hostile file (300,000 '[') is a FormatError, not a
// stack overflow that kills LAMMPS. Same limit as MAX_NESTING in simkit/io/yace.py.
constexpr int kMaxDepth = 64;

// Counts one level of nesting for the lifetime of a collection being read.
class Nesting {
 public:
  Nesting(int &depth, int line) : depth_(depth)
  {
    if (depth_ >= kMaxDepth) fail(line, "nested more than " + std::to_string(kMaxDepth) + " levels deep");
    ++depth_;
  }
  ~Nesting() { --depth_; }
  Nesting(const Nesting &) = delete;
  Nesting &operator=(const Nesting &) = delete;

 private:
  int &depth_;
};

std::string rstrip(const std::string &s)
{
  size_t end = s.find_last_not_of(" \t\r");
  return end == std::string::npos ? std::string() : s.substr(0, end + 1);
}

std::string strip(const std::string &s)
{
  size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return std::string();
  return rstrip(s.substr(begin));
}

// Removes a trailing comment while respecting quotes; returns the bracket depth
// change so multi-line flow collections can be joined before block parsing.
std::string remove_comment(const std::string &s, int &depth, int line)
{
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote) {
        // '' inside single quotes is an escaped quote, not the end
        if (quote == '\'' && i + 1 < s.size() && s[i + 1] == '\'') { ++i; continue; }
        quote = 0;
      } else if (quote == '"' && c == '\\') {
        ++i;
      }
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
      return s.substr(0, i);
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      --depth;
      if (depth < 0) fail(line, "unbalanced '" + std::string(1, c) + "'");
    } else if (c == '&' || c == '*' || c == '!') {
      // anchors, aliases and tags would silently change meaning if ignored
      if (i == 0 || s[i - 1] == ' ' || s[i - 1] == '[' || s[i - 1] == '{' || s[i - 1] == ',')
        fail(line, "YAML anchors, aliases and tags are not supported");
    }
  }
  if (quote) fail(line, "unterminated quoted string");
  return s;
}

std::vector<Line> logical_lines(const std::string &text)
{
  std::vector<Line> out;
  size_t pos = 0;
  int number = 0;
  int depth = 0;
  int opened_at = 0;  // line where the pending multi-line flow collection began
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string raw = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++number;
    size_t indent = raw.find_first_not_of(' ');
    if (indent != std::string::npos && raw[indent] == '\t')
      fail(number, "tab used for indentation");
    int depth_before = depth;
    std::string content = strip(remove_comment(raw, depth, number));
    if (depth_before > 0) {
      if (!content.empty()) out.back().content += " " + content;
      if (eol == text.size()) break;
      continue;
    }
    if (content.empty() || content == "---" || content == "...") {
      if (content == "---" && !out.empty()) fail(number, "multiple YAML documents are not supported");
      if (eol == text.size()) break;
      continue;
    }
    out.push_back({static_cast<int>(indent), content, number});
    if (depth > 0) opened_at = number;
    if (eol == text.size()) break;
  }
  if (depth != 0) fail(opened_at, "'[' or '{' opened here is never closed");
  return out;
}

// Position of the ':' that separates key and value at bracket depth 0, or npos.
size_t mapping_colon(const std::string &s)
{
  int depth = 0;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
      else if (quote == '"' && c == '\\') ++i;
      continue;
    }
    if (c == '"' || c == '\'') quote = c;
    else if (c == '[' || c == '{') ++depth;
    else if (c == ']' || c == '}') --depth;
    else if (c == ':' && depth == 0 && (i + 1 == s.size() || s[i + 1] == ' ')) return i;
  }
  return std::string::npos;
}

bool is_sequence_item(const std::string &s)
{
  return s == "-" || (s.size() > 1 && s[0] == '-' && s[1] == ' ');
}

// Recursive-descent reader for one flow node inside a single logical line.
class FlowReader {
 public:
  // `depth`: collections already open around this text (the block reader's).
  FlowReader(const std::string &s, int line, int depth) : s_(s), line_(line), depth_(depth) {}

  YamlNode read_all()
  {
    YamlNode node = read_node(false);
    skip_space();
    if (pos_ != s_.size()) fail(line_, "unexpected text after value: '" + s_.substr(pos_) + "'");
    return node;
  }

 private:
  const std::string &s_;
  int line_;
  int depth_;
  size_t pos_ = 0;

  void skip_space()
  {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }

  YamlNode make(YamlNode::Kind kind)
  {
    YamlNode n;
    n.kind = kind;
    n.line = line_;
    return n;
  }

  YamlNode read_node(bool in_flow)
  {
    skip_space();
    if (pos_ >= s_.size()) return make(YamlNode::Kind::Null);
    char c = s_[pos_];
    if (c == '[') return read_sequence();
    if (c == '{') return read_mapping();
    if (c == '"' || c == '\'') return read_quoted(c);
    return read_plain(in_flow);
  }

  YamlNode read_sequence()
  {
    Nesting level(depth_, line_);
    YamlNode n = make(YamlNode::Kind::Sequence);
    ++pos_;
    for (;;) {
      skip_space();
      if (pos_ >= s_.size()) fail(line_, "unterminated '['");
      if (s_[pos_] == ']') { ++pos_; return n; }
      n.items.push_back(read_node(true));
      skip_space();
      if (pos_ < s_.size() && s_[pos_] == ',') { ++pos_; continue; }
      if (pos_ < s_.size() && s_[pos_] == ']') { ++pos_; return n; }
      fail(line_, "expected ',' or ']' in flow sequence");
    }
  }

  YamlNode read_mapping()
  {
    Nesting level(depth_, line_);
    YamlNode n = make(YamlNode::Kind::Mapping);
    ++pos_;
    for (;;) {
      skip_space();
      if (pos_ >= s_.size()) fail(line_, "unterminated '{'");
      if (s_[pos_] == '}') { ++pos_; return n; }
      YamlNode key = read_node(true);
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != ':') fail(line_, "expected ':' after key '" + key.brief() + "'");
      ++pos_;
      YamlNode value = read_node(true);
      for (const auto &e : n.entries)
        if (e.first.kind == key.kind && e.first.brief() == key.brief())
          fail(line_, "duplicate key '" + key.brief() + "'");
      n.entries.emplace_back(std::move(key), std::move(value));
      skip_space();
      if (pos_ < s_.size() && s_[pos_] == ',') { ++pos_; continue; }
      if (pos_ < s_.size() && s_[pos_] == '}') { ++pos_; return n; }
      fail(line_, "expected ',' or '}' in flow mapping");
    }
  }

  YamlNode read_quoted(char quote)
  {
    YamlNode n = make(YamlNode::Kind::Scalar);
    ++pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == quote) {
        if (quote == '\'' && pos_ < s_.size() && s_[pos_] == '\'') { n.text += '\''; ++pos_; continue; }
        return n;
      }
      if (quote == '"' && c == '\\' && pos_ < s_.size()) {
        char e = s_[pos_++];
        n.text += (e == 'n') ? '\n' : (e == 't') ? '\t' : e;
        continue;
      }
      n.text += c;
    }
    fail(line_, "unterminated quoted string");
  }

  YamlNode read_plain(bool in_flow)
  {
    size_t begin = pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (in_flow && (c == ',' || c == ']' || c == '}')) break;
      // a ':' followed by space (or a flow indicator) ends a key inside {...}
      if (in_flow && c == ':' &&
          (pos_ + 1 == s_.size() || s_[pos_ + 1] == ' ' || s_[pos_ + 1] == ',' || s_[pos_ + 1] == '}'))
        break;
      ++pos_;
    }
    std::string text = strip(s_.substr(begin, pos_ - begin));
    if (text.empty() || text == "~" || text == "null") return make(YamlNode::Kind::Null);
    YamlNode n = make(YamlNode::Kind::Scalar);
    n.text = text;
    return n;
  }
};

class BlockReader {
 public:
  explicit BlockReader(std::vector<Line> lines) : lines_(std::move(lines)) {}

  YamlNode read_document()
  {
    if (lines_.empty()) return YamlNode();
    YamlNode root = read_block(lines_[0].indent);
    if (next_ < lines_.size()) fail(lines_[next_].number, "unexpected indentation");
    return root;
  }

 private:
  std::vector<Line> lines_;
  size_t next_ = 0;
  int depth_ = 0;

  YamlNode read_block(int indent)
  {
    const Line &line = lines_[next_];
    if (is_sequence_item(line.content)) return read_sequence(indent);
    // "key: value" (the key may itself be a flow sequence such as [0, 1])
    if (mapping_colon(line.content) != std::string::npos) return read_mapping(indent);
    ++next_;
    return FlowReader(line.content, line.number, depth_).read_all();
  }

  YamlNode read_mapping(int indent)
  {
    Nesting level(depth_, lines_[next_].number);
    YamlNode map;
    map.kind = YamlNode::Kind::Mapping;
    map.line = lines_[next_].number;
    while (next_ < lines_.size() && lines_[next_].indent == indent &&
           !is_sequence_item(lines_[next_].content)) {
      const Line line = lines_[next_];
      size_t colon = mapping_colon(line.content);
      if (colon == std::string::npos) fail(line.number, "expected 'key: value'");
      YamlNode key = FlowReader(line.content.substr(0, colon), line.number, depth_).read_all();
      if (key.kind == YamlNode::Kind::Null) fail(line.number, "empty mapping key");
      std::string rest = strip(line.content.substr(colon + 1));
      YamlNode value;
      value.line = line.number;
      ++next_;
      if (!rest.empty()) {
        value = FlowReader(rest, line.number, depth_).read_all();
      } else if (next_ < lines_.size() &&
                 (lines_[next_].indent > indent ||
                  (lines_[next_].indent == indent && is_sequence_item(lines_[next_].content)))) {
        value = read_block(lines_[next_].indent);
      }
      for (const auto &e : map.entries)
        if (e.first.kind == key.kind && e.first.brief() == key.brief())
          fail(line.number, "duplicate key '" + key.brief() + "'");
      map.entries.emplace_back(std::move(key), std::move(value));
    }
    if (next_ < lines_.size() && lines_[next_].indent > indent)
      fail(lines_[next_].number, "unexpected indentation");
    return map;
  }

  YamlNode read_sequence(int indent)
  {
    Nesting level(depth_, lines_[next_].number);
    YamlNode seq;
    seq.kind = YamlNode::Kind::Sequence;
    seq.line = lines_[next_].number;
    while (next_ < lines_.size() && lines_[next_].indent == indent &&
           is_sequence_item(lines_[next_].content)) {
      Line &line = lines_[next_];
      std::string rest = line.content.size() > 1 ? line.content.substr(2) : std::string();
      size_t lead = rest.find_first_not_of(' ');
      if (lead == std::string::npos) {
        ++next_;
        if (next_ < lines_.size() && lines_[next_].indent > indent)
          seq.items.push_back(read_block(lines_[next_].indent));
        else
          seq.items.emplace_back();
        continue;
      }
      bool flow_start = rest[lead] == '[' || rest[lead] == '{';
      if (is_sequence_item(rest.substr(lead)) ||
          (!flow_start && mapping_colon(rest) != std::string::npos)) {
        // "- key: v" opens a block node whose later lines align with "key"
        line.indent += 2 + static_cast<int>(lead);
        line.content = rest.substr(lead);
        seq.items.push_back(read_block(line.indent));
      } else {
        ++next_;
        seq.items.push_back(FlowReader(rest, line.number, depth_).read_all());
      }
    }
    return seq;
  }
};

}  // namespace

const YamlNode *YamlNode::find(const std::string &key) const
{
  if (kind != Kind::Mapping) return nullptr;
  for (const auto &e : entries)
    if (e.first.kind == Kind::Scalar && e.first.text == key) return &e.second;
  return nullptr;
}

const YamlNode *YamlNode::find_int_pair(int a, int b) const
{
  if (kind != Kind::Mapping) return nullptr;
  for (const auto &e : entries) {
    const YamlNode &k = e.first;
    if (k.kind != Kind::Sequence || k.items.size() != 2) continue;
    if (!k.items[0].is_scalar() || !k.items[1].is_scalar()) continue;
    char *end0 = nullptr, *end1 = nullptr;
    long x = std::strtol(k.items[0].text.c_str(), &end0, 10);
    long y = std::strtol(k.items[1].text.c_str(), &end1, 10);
    if (*end0 == '\0' && *end1 == '\0' && x == a && y == b) return &e.second;
  }
  return nullptr;
}

std::string YamlNode::brief() const
{
  switch (kind) {
    case Kind::Null: return "null";
    case Kind::Scalar: return text;
    case Kind::Sequence: {
      std::string out = "[";
      for (size_t i = 0; i < items.size() && i < 6; ++i) out += (i ? ", " : "") + items[i].brief();
      if (items.size() > 6) out += ", ...";
      return out + "]";
    }
    case Kind::Mapping: {
      std::string out = "{";
      for (size_t i = 0; i < entries.size() && i < 4; ++i)
        out += (i ? ", " : "") + entries[i].first.brief() + ": ...";
      if (entries.size() > 4) out += ", ...";
      return out + "}";
    }
  }
  return "?";
}

YamlNode parse_yaml(const std::string &text)
{
  return BlockReader(logical_lines(text)).read_document();
}

}  // namespace simkit_pace
