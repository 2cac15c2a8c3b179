#include "ace_activeset.h"

#include "ace_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace simkit_pace {

namespace {

const char kFormat[] = "simkit-activeset-1";
const char kSentinel[] = "\n# inverses\n";

// A bound far above any basis pacemaker fits (a few thousand functions per
// element), so a corrupt count is refused before K*K doubles are allocated.
constexpr long long kMaxFunctions = 50000;

ProjectionFunction read_function(const YamlNode &f, const std::string &key, const std::vector<int> &to_model,
                                 int mu0, const AceEvaluator &ace)
{
  ProjectionFunction p;
  const int nel = static_cast<int>(to_model.size());
  auto get = [&](const char *name) -> const YamlNode & { return Reader::get(f, name, key); };
  p.rank = Reader::integer(get("rank"), key + ".rank", 1, 32);
  p.ncomb = Reader::integer(get("num_ms_combs"), key + ".num_ms_combs", 1, 100000000);
  p.mus = Reader::integers(get("mus"), key + ".mus", 0, nel - 1);
  p.ns = Reader::integers(get("ns"), key + ".ns", 1, 256);
  p.ls = Reader::integers(get("ls"), key + ".ls", 0, kMaxL);
  const std::pair<const char *, const std::vector<int> *> lists[] = {{"mus", &p.mus}, {"ns", &p.ns}, {"ls", &p.ls}};
  for (const auto &[name, list] : lists)
    if (list->size() != static_cast<size_t>(p.rank))
      Reader::fail(key + "." + name, &get(name), "expected rank = " + std::to_string(p.rank) + " entries");
  for (auto &mu : p.mus) mu = to_model[mu];
  for (int t = 0; t < p.rank; ++t) {
    const RadialTable &T = ace.table(mu0, p.mus[t]);
    const bool ok = p.rank == 1 ? (p.ns[t] <= T.nbase() && p.ls[t] == 0) : (p.ns[t] <= T.nrad() && p.ls[t] < T.nl());
    if (!ok)
      Reader::fail(key, &f, "(n, l) = (" + std::to_string(p.ns[t]) + ", " + std::to_string(p.ls[t]) +
                                ") is outside the potential's radial basis for this bond; was the active set "
                                "built for another potential?");
  }
  p.ms = Reader::integers(get("ms_combs"), key + ".ms_combs", -kMaxL, kMaxL);
  if (static_cast<long long>(p.ms.size()) != static_cast<long long>(p.ncomb) * p.rank)
    Reader::fail(key + ".ms_combs", &get("ms_combs"), "expected num_ms_combs*rank integers");
  for (size_t c = 0; c < static_cast<size_t>(p.ncomb); ++c)
    for (int t = 0; t < p.rank; ++t)
      if (std::abs(p.ms[c * p.rank + t]) > p.ls[t]) Reader::fail(key + ".ms_combs", &get("ms_combs"), "an m exceeds its l");
  p.cg = Reader::numbers(get("gen_cgs"), key + ".gen_cgs");
  if (p.cg.size() != static_cast<size_t>(p.ncomb))
    Reader::fail(key + ".gen_cgs", &get("gen_cgs"), "expected num_ms_combs numbers");
  return p;
}

// Whitespace-separated tokens of the inverse block, with line numbers for messages.
class Tokens {
 public:
  Tokens(const std::string &text, size_t pos, int line) : text_(text), pos_(pos), line_(line) {}

  std::string next(const std::string &what)
  {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) {
      if (text_[pos_] == '\n') ++line_;
      ++pos_;
    }
    if (pos_ >= text_.size()) throw FormatError("inverses: the file ends where " + what + " was expected");
    const size_t start = pos_;
    while (pos_ < text_.size() && !std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  double number(const std::string &what)
  {
    std::string t = next(what);
    double v = 0.0;
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || ptr != t.data() + t.size() || !std::isfinite(v))
      throw FormatError("inverses (line " + std::to_string(line_) + "): " + what + ": expected a finite number, got '" +
                        t + "'");
    return v;
  }

  bool done()
  {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    return pos_ >= text_.size();
  }

 private:
  const std::string &text_;
  size_t pos_;
  int line_;
};

}  // namespace

std::vector<ElementActiveSet> read_active_set(const std::string &text, const AceEvaluator &ace)
{
  const size_t cut = text.find(kSentinel);
  if (cut == std::string::npos) throw FormatError("no '# inverses' line: not a simkit active-set file");
  YamlNode doc = parse_yaml(text.substr(0, cut + 1));
  if (!doc.is_mapping()) Reader::fail("", &doc, "expected a mapping with format, elements and functions");
  const YamlNode &format = Reader::get(doc, "format", "");
  if (Reader::text(format, "format") != kFormat)
    Reader::fail("format", &format, std::string("expected ") + kFormat + ", got '" + format.text + "'");

  const YamlNode &names = Reader::sequence(Reader::get(doc, "elements", ""), "elements");
  std::vector<int> to_model;
  std::vector<std::string> file_elements;
  for (size_t e = 0; e < names.items.size(); ++e) {
    std::string name = Reader::text(names.items[e], "elements[" + std::to_string(e) + "]");
    int mu = -1;
    for (int m = 0; m < ace.nelements(); ++m)
      if (ace.element(m) == name) mu = m;
    if (mu < 0) Reader::fail("elements", &names, "element " + name + " is not in the potential");
    to_model.push_back(mu);
    file_elements.push_back(name);
  }
  for (int m = 0; m < ace.nelements(); ++m)
    if (std::find(to_model.begin(), to_model.end(), m) == to_model.end())
      Reader::fail("elements", &names, "the potential's element " + ace.element(m) + " is missing");

  std::vector<ElementActiveSet> sets(ace.nelements());
  const YamlNode &functions = Reader::get(doc, "functions", "");
  for (size_t e = 0; e < file_elements.size(); ++e) {
    const std::string key = "functions." + file_elements[e];
    const YamlNode &list = Reader::sequence(Reader::get(functions, file_elements[e], "functions"), key);
    ElementActiveSet &set = sets[to_model[e]];
    for (size_t k = 0; k < list.items.size(); ++k) {
      set.functions.push_back(read_function(list.items[k], key + "[" + std::to_string(k) + "]", to_model,
                                            to_model[e], ace));
      const ProjectionFunction &p = set.functions.back();
      for (int t = 0; t < p.rank; ++t) {
        if (p.rank == 1) set.nbase = std::max(set.nbase, p.ns[t]);
        else {
          set.nrad = std::max(set.nrad, p.ns[t]);
          set.lmax = std::max(set.lmax, p.ls[t]);
        }
      }
    }
    if (set.functions.empty() || static_cast<long long>(set.functions.size()) > kMaxFunctions)
      Reader::fail(key, &list, "expected 1 to " + std::to_string(kMaxFunctions) + " functions");
  }

  int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + cut + 1, '\n')) + 1;
  Tokens tokens(text, cut + sizeof(kSentinel) - 1, line);
  for (size_t e = 0; e < file_elements.size(); ++e) {
    std::string name = tokens.next("an element name");
    auto it = std::find(file_elements.begin(), file_elements.end(), name);
    if (it == file_elements.end()) throw FormatError("inverses: unknown element block '" + name + "'");
    ElementActiveSet &set = sets[to_model[it - file_elements.begin()]];
    if (!set.inverse.empty()) throw FormatError("inverses: element " + name + " appears twice");
    const double k = tokens.number("the size of " + name + "'s inverse");
    if (k != static_cast<double>(set.size()))
      throw FormatError("inverses: element " + name + " has " + std::to_string(set.size()) +
                        " functions but its inverse is declared " + std::to_string(static_cast<long long>(k)) + " x " + std::to_string(static_cast<long long>(k)));
    const size_t count = static_cast<size_t>(set.size()) * set.size();
    set.inverse.resize(count);
    for (size_t i = 0; i < count; ++i) set.inverse[i] = tokens.number(name + "'s inverse");
  }
  if (!tokens.done()) throw FormatError("inverses: unexpected text after the last element block");
  return sets;
}

GammaEvaluator::GammaEvaluator(const AceEvaluator &ace, std::vector<ElementActiveSet> sets)
    : ace_(ace), sets_(std::move(sets))
{
  for (const auto &set : sets_) harmonics_.emplace_back(set.lmax);
}

size_t GammaEvaluator::memory_bytes() const
{
  size_t total = 0;
  for (const auto &set : sets_) {
    total += set.inverse.size() * sizeof(double);
    for (const auto &f : set.functions) total += f.ms.size() * sizeof(int) + f.cg.size() * sizeof(double);
  }
  return total;
}

void GammaEvaluator::projections(int mu_i, int n, const double *rij, const int *mu_j, GammaWorkspace &ws) const
{
  const ElementActiveSet &set = sets_[mu_i];
  const SphericalHarmonics &sh = harmonics_[mu_i];
  const int nel = ace_.nelements(), nb = set.nbase, nr = set.nrad, nlm = sh.count();
  auto grow = [](std::vector<double> &v, size_t size) {
    if (v.size() < size) v.resize(size);
  };
  grow(ws.a1, static_cast<size_t>(nel) * nb);
  grow(ws.ar, static_cast<size_t>(nel) * nr * nlm);
  grow(ws.ai, static_cast<size_t>(nel) * nr * nlm);
  grow(ws.yre, nlm);
  grow(ws.yim, nlm);
  grow(ws.dyre, 3 * static_cast<size_t>(nlm));
  grow(ws.dyim, 3 * static_cast<size_t>(nlm));
  grow(ws.b, set.size());
  std::fill(ws.a1.begin(), ws.a1.begin() + static_cast<size_t>(nel) * nb, 0.0);
  std::fill(ws.ar.begin(), ws.ar.begin() + static_cast<size_t>(nel) * nr * nlm, 0.0);
  std::fill(ws.ai.begin(), ws.ai.begin() + static_cast<size_t>(nel) * nr * nlm, 0.0);

  for (int k = 0; k < n; ++k) {
    const double *d = rij + 3 * k;
    const int mu = mu_j[k];
    const RadialTable &T = ace_.table(mu_i, mu);
    const double r = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    if (!(r < ace_.bond(mu_i, mu).rcut_A) || r <= 0.0) continue;
    grow(ws.val, T.nfunc());
    grow(ws.der, T.nfunc());
    T.evaluate(r, ws.val.data(), ws.der.data());
    const double *val = ws.val.data();
    for (int q = 0; q < std::min(T.nbase(), nb); ++q) ws.a1[mu * nb + q] += val[q];
    if (nr == 0) continue;
    const double u[3] = {d[0] / r, d[1] / r, d[2] / r};
    sh.compute(u, 1.0 / r, ws.yre.data(), ws.yim.data(), ws.dyre.data(), ws.dyim.data(), nlm);
    const int lmax = std::min(T.nl() - 1, set.lmax);
    for (int nn = 0; nn < std::min(T.nrad(), nr); ++nn) {
      const double *R = val + T.r_offset() + nn * T.nl();
      double *hr = &ws.ar[static_cast<size_t>(mu * nr + nn) * nlm], *hi = &ws.ai[static_cast<size_t>(mu * nr + nn) * nlm];
      for (int l = 0; l <= lmax; ++l)
        for (int m = 0; m <= l; ++m) {
          const int lm = SphericalHarmonics::index(l, m);
          hr[lm] += R[l] * ws.yre[lm];
          hi[lm] += R[l] * ws.yim[lm];
        }
    }
  }

  for (int f = 0; f < set.size(); ++f) {
    const ProjectionFunction &p = set.functions[f];
    if (p.rank == 1) {
      ws.b[f] = ws.a1[p.mus[0] * nb + p.ns[0] - 1];
      continue;
    }
    double total = 0.0;
    for (int c = 0; c < p.ncomb; ++c) {
      double re = 1.0, im = 0.0;
      for (int t = 0; t < p.rank; ++t) {
        const int m = p.ms[static_cast<size_t>(c) * p.rank + t], am = std::abs(m);
        const size_t idx = static_cast<size_t>(p.mus[t] * nr + p.ns[t] - 1) * nlm + SphericalHarmonics::index(p.ls[t], am);
        double ar = ws.ar[idx], ai = ws.ai[idx];
        if (m < 0) {  // A_{l,-m} = (-1)^m conj(A_{l,m})
          const double sign = (am % 2) ? -1.0 : 1.0;
          ar *= sign;
          ai *= -sign;
        }
        const double nr_ = re * ar - im * ai;
        im = re * ai + im * ar;
        re = nr_;
      }
      total += p.cg[c] * re;
    }
    ws.b[f] = total;
  }
}

double GammaEvaluator::gamma(int mu_i, int n, const double *rij, const int *mu_j, GammaWorkspace &ws) const
{
  projections(mu_i, n, rij, mu_j, ws);
  const ElementActiveSet &set = sets_[mu_i];
  const int K = set.size();
  if (ws.g.size() < static_cast<size_t>(K)) ws.g.resize(K);
  std::fill(ws.g.begin(), ws.g.begin() + K, 0.0);
  double *g = ws.g.data();
  for (int k = 0; k < K; ++k) {
    const double b = ws.b[k];
    if (b == 0.0) continue;
    const double *row = &set.inverse[static_cast<size_t>(k) * K];
    for (int j = 0; j < K; ++j) g[j] += b * row[j];
  }
  double worst = 0.0;
  for (int j = 0; j < K; ++j) worst = std::max(worst, std::fabs(g[j]));
  return worst;
}

}  // namespace simkit_pace
