#include "ace_model.h"
#include "ace_reader.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <system_error>

namespace simkit_pace {

namespace {

// A number as people write it (5e+12, 4.5), for messages.
std::string shortest(double value)
{
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string index_key(const std::string &section, int mu) { return section + "." + std::to_string(mu); }

const YamlNode &element_entry(const YamlNode &section, const std::string &name, int mu)
{
  for (const auto &e : section.entries)
    if (e.first.is_scalar() && e.first.text == std::to_string(mu)) return e.second;
  Reader::fail(index_key(name, mu), &section, "missing");
}

EmbeddingSpec read_embedding(const YamlNode &e, const std::string &key)
{
  EmbeddingSpec spec;
  spec.ndensity = Reader::integer(Reader::get(e, "ndensity", key), key + ".ndensity", 1, 64);
  const YamlNode &fs = Reader::get(e, "FS_parameters", key);
  spec.fs_parameters = Reader::numbers(fs, key + ".FS_parameters");
  if (spec.fs_parameters.size() != 2 * static_cast<size_t>(spec.ndensity))
    Reader::fail(key + ".FS_parameters", &fs,
                 "expected 2*ndensity = " + std::to_string(2 * spec.ndensity) + " values, got " +
                     std::to_string(spec.fs_parameters.size()));
  const YamlNode &npoti = Reader::get(e, "npoti", key);
  std::string kind = Reader::text(npoti, key + ".npoti");
  if (kind == "FinnisSinclair") spec.kind = EmbeddingKind::FinnisSinclair;
  else if (kind == "FinnisSinclairShiftedScaled") spec.kind = EmbeddingKind::FinnisSinclairShiftedScaled;
  else
    Reader::fail(key + ".npoti", &npoti,
                 "unknown embedding '" + kind + "' (expected FinnisSinclair or FinnisSinclairShiftedScaled)");
  spec.rho_core_cutoff = Reader::number(Reader::get(e, "rho_core_cutoff", key), key + ".rho_core_cutoff");
  spec.drho_core_cutoff = Reader::number(Reader::get(e, "drho_core_cutoff", key), key + ".drho_core_cutoff");
  return spec;
}

BondSpec read_bond(const YamlNode &b, const std::string &key)
{
  BondSpec spec;
  auto get = [&](const char *name) -> const YamlNode & { return Reader::get(b, name, key); };
  auto num = [&](const char *name) { return Reader::number(get(name), key + "." + name); };
  spec.nradmax = Reader::integer(get("nradmax"), key + ".nradmax", 0, 256);
  spec.lmax = Reader::integer(get("lmax"), key + ".lmax", 0, kMaxL);
  spec.nradbase = Reader::integer(get("nradbasemax"), key + ".nradbasemax", 0, 256);

  const YamlNode &name_node = get("radbasename");
  std::string name = Reader::text(name_node, key + ".radbasename");
  if (name == "SBessel") spec.radial = RadialKind::SBessel;
  else if (name == "ChebExpCos") spec.radial = RadialKind::ChebExpCos;
  else if (name == "ChebPow") spec.radial = RadialKind::ChebPow;
  else
    Reader::fail(key + ".radbasename", &name_node,
                 "unknown radial basis '" + name + "' (expected SBessel, ChebExpCos or ChebPow)");
  const YamlNode &params_node = get("radparameters");
  std::vector<double> params = Reader::numbers(params_node, key + ".radparameters");
  if (spec.radial != RadialKind::SBessel) {
    if (params.empty())
      Reader::fail(key + ".radparameters", &params_node, name + " needs one parameter (lambda)");
    spec.lambda = params[0];
    if (spec.radial == RadialKind::ChebExpCos && spec.lambda == 0.0)
      Reader::fail(key + ".radparameters", &params_node, "ChebExpCos lambda must be non-zero");
  }

  const YamlNode &crad = get("radcoefficients");
  const std::string ckey = key + ".radcoefficients";
  std::string shape = "[nradmax][lmax+1][nradbasemax] = [" + std::to_string(spec.nradmax) + "][" +
                      std::to_string(spec.lmax + 1) + "][" + std::to_string(spec.nradbase) + "]";
  if (spec.nradmax > 0) {
    if (!crad.is_sequence() || crad.items.size() != static_cast<size_t>(spec.nradmax))
      Reader::fail(ckey, &crad, "expected shape " + shape);
    for (int n = 0; n < spec.nradmax; ++n) {
      const YamlNode &row = crad.items[n];
      if (!row.is_sequence() || row.items.size() != static_cast<size_t>(spec.lmax) + 1)
        Reader::fail(ckey, &row, "expected shape " + shape);
      for (int l = 0; l <= spec.lmax; ++l) {
        std::string k = ckey + "[" + std::to_string(n) + "][" + std::to_string(l) + "]";
        std::vector<double> v = Reader::numbers(row.items[l], k);
        if (v.size() != static_cast<size_t>(spec.nradbase)) Reader::fail(k, &row.items[l], "expected shape " + shape);
        spec.crad.insert(spec.crad.end(), v.begin(), v.end());
      }
    }
  }

  spec.prehc = num("prehc");
  spec.lambdahc = num("lambdahc");
  spec.rcut_A = num("rcut");
  spec.dcut_A = num("dcut");
  spec.rcut_in_A = num("rcut_in");
  spec.dcut_in_A = num("dcut_in");
  if (spec.rcut_A <= 0.0) Reader::fail(key + ".rcut", &get("rcut"), "must be positive");
  if (spec.dcut_A < 0.0 || spec.dcut_A > spec.rcut_A)
    Reader::fail(key + ".dcut", &get("dcut"), "must lie in [0, rcut]");
  if (spec.dcut_in_A < 0.0) Reader::fail(key + ".dcut_in", &get("dcut_in"), "must not be negative");

  const YamlNode &ict_node = get("inner_cutoff_type");
  std::string ict = Reader::text(ict_node, key + ".inner_cutoff_type");
  if (ict == "distance") spec.inner = InnerCutoff::Distance;
  else if (ict == "density") spec.inner = InnerCutoff::Density;
  else if (ict == "zbl") spec.inner = InnerCutoff::Zbl;
  else
    Reader::fail(key + ".inner_cutoff_type", &ict_node,
                 "unknown inner cutoff '" + ict + "' (expected distance, density or zbl)");
  return spec;
}

FunctionSpec read_function(const YamlNode &f, const std::string &key, int mu0, const ModelSpec &model)
{
  FunctionSpec spec;
  const int nel = model.nelements();
  auto get = [&](const char *name) -> const YamlNode & { return Reader::get(f, name, key); };
  int file_mu0 = Reader::integer(get("mu0"), key + ".mu0", 0, nel - 1);
  if (file_mu0 != mu0)
    Reader::fail(key + ".mu0", &get("mu0"), "is " + std::to_string(file_mu0) + " but the function is listed under element " + std::to_string(mu0));
  spec.rank = Reader::integer(get("rank"), key + ".rank", 1, 32);
  spec.ndensity = Reader::integer(get("ndensity"), key + ".ndensity", 1, 64);
  if (spec.ndensity != model.embeddings[mu0].ndensity)
    Reader::fail(key + ".ndensity", &get("ndensity"),
                 "is " + std::to_string(spec.ndensity) + " but embeddings." + std::to_string(mu0) +
                     ".ndensity is " + std::to_string(model.embeddings[mu0].ndensity));
  spec.ncomb = Reader::integer(get("num_ms_combs"), key + ".num_ms_combs", 1, 100000000);
  spec.mus = Reader::integers(get("mus"), key + ".mus", 0, nel - 1);
  spec.ns = Reader::integers(get("ns"), key + ".ns", 1, 256);
  spec.ls = Reader::integers(get("ls"), key + ".ls", 0, kMaxL);
  const char *names[3] = {"mus", "ns", "ls"};
  const std::vector<int> *lists[3] = {&spec.mus, &spec.ns, &spec.ls};
  for (int q = 0; q < 3; ++q)
    if (lists[q]->size() != static_cast<size_t>(spec.rank))
      Reader::fail(key + "." + names[q], &get(names[q]),
                   "expected rank = " + std::to_string(spec.rank) + " entries, got " + std::to_string(lists[q]->size()));
  for (int t = 0; t < spec.rank; ++t) {
    const BondSpec &b = model.bond(mu0, spec.mus[t]);
    bool ok = spec.rank == 1 ? (spec.ns[t] <= b.nradbase && spec.ls[t] == 0)
                             : (spec.ns[t] <= b.nradmax && spec.ls[t] <= b.lmax);
    if (!ok)
      Reader::fail(key, &f, "(n, l) = (" + std::to_string(spec.ns[t]) + ", " + std::to_string(spec.ls[t]) +
                                ") exceeds the limits of bond [" + std::to_string(mu0) + ", " +
                                std::to_string(spec.mus[t]) + "]");
  }
  const YamlNode &ms_node = get("ms_combs");
  spec.ms = Reader::integers(ms_node, key + ".ms_combs", -kMaxL, kMaxL);
  // products in 64 bits: num_ms_combs (up to 1e8) times rank or ndensity overflows an int
  const long long nms = static_cast<long long>(spec.ncomb) * spec.rank;
  if (static_cast<long long>(spec.ms.size()) != nms)
    Reader::fail(key + ".ms_combs", &ms_node,
                 "expected num_ms_combs*rank = " + std::to_string(nms) + " integers, got " +
                     std::to_string(spec.ms.size()));
  for (size_t c = 0; c < static_cast<size_t>(spec.ncomb); ++c)
    for (int t = 0; t < spec.rank; ++t)
      if (std::abs(spec.ms[c * spec.rank + t]) > spec.ls[t])
        Reader::fail(key + ".ms_combs", &ms_node, "an m exceeds its l");
  const YamlNode &ct_node = get("ctildes");
  spec.ctildes = Reader::numbers(ct_node, key + ".ctildes");
  const long long nct = static_cast<long long>(spec.ncomb) * spec.ndensity;
  if (static_cast<long long>(spec.ctildes.size()) != nct)
    Reader::fail(key + ".ctildes", &ct_node,
                 "expected num_ms_combs*ndensity = " + std::to_string(nct) + " numbers, got " +
                     std::to_string(spec.ctildes.size()));
  return spec;
}

}  // namespace

int atomic_number(const std::string &symbol)
{
  static const char *const kSymbols[] = {
      "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si", "P",  "S",  "Cl",
      "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As", "Se",
      "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn", "Sb",
      "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er",
      "Tm", "Yb", "Lu", "Hf", "Ta", "W",  "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At",
      "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No",
      "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};
  for (int z = 0; z < static_cast<int>(sizeof(kSymbols) / sizeof(kSymbols[0])); ++z)
    if (symbol == kSymbols[z]) return z + 1;
  return 0;
}

ModelSpec read_model(const std::string &yace_text)
{
  YamlNode doc = parse_yaml(yace_text);
  if (!doc.is_mapping()) Reader::fail("", &doc, "expected a mapping with elements, embeddings, bonds and functions");
  ModelSpec model;

  const YamlNode &elements = Reader::sequence(Reader::get(doc, "elements", ""), "elements");
  for (size_t i = 0; i < elements.items.size(); ++i)
    model.elements.push_back(Reader::text(elements.items[i], "elements[" + std::to_string(i) + "]"));
  if (model.elements.empty()) Reader::fail("elements", &elements, "no elements listed");
  const int nel = model.nelements();
  for (const auto &el : model.elements) model.atomic_numbers.push_back(atomic_number(el));

  if (const YamlNode *e0 = doc.find("E0")) {
    model.e0_eV = Reader::numbers(*e0, "E0");
    if (model.e0_eV.size() != static_cast<size_t>(nel))
      Reader::fail("E0", e0, "expected one value per element (" + std::to_string(nel) + ")");
  } else {
    model.e0_eV.assign(nel, 0.0);
  }
  const YamlNode &dsb = Reader::get(doc, "deltaSplineBins", "");
  model.delta_spline_bins_A = Reader::number(dsb, "deltaSplineBins");
  if (model.delta_spline_bins_A <= 0.0) Reader::fail("deltaSplineBins", &dsb, "must be positive");

  const YamlNode &embeddings = Reader::get(doc, "embeddings", "");
  if (!embeddings.is_mapping()) Reader::fail("embeddings", &embeddings, "expected a mapping from element index");
  for (int mu = 0; mu < nel; ++mu)
    model.embeddings.push_back(read_embedding(element_entry(embeddings, "embeddings", mu), index_key("embeddings", mu)));

  const YamlNode &bonds = Reader::get(doc, "bonds", "");
  if (!bonds.is_mapping()) Reader::fail("bonds", &bonds, "expected a mapping from [mu_i, mu_j]");
  for (int i = 0; i < nel; ++i)
    for (int j = 0; j < nel; ++j) {
      std::string key = "bonds.[" + std::to_string(i) + ", " + std::to_string(j) + "]";
      const YamlNode *b = bonds.find_int_pair(i, j);
      if (!b) Reader::fail(key, &bonds, "missing");
      model.bonds.push_back(read_bond(*b, key));
    }
  for (const auto &b : model.bonds) {
    const double bins = b.rcut_A / model.delta_spline_bins_A;
    if (!(bins <= kMaxSplineBins))
      Reader::fail("deltaSplineBins", &dsb,
                   "gives " + shortest(bins) + " spline bins up to rcut " + shortest(b.rcut_A) +
                       " A; at most 1e7 are allowed (pacemaker writes 0.001)");
  }
  for (const auto &b : model.bonds)
    if (b.inner != model.bonds[0].inner)
      Reader::fail("bonds", &bonds, "inner_cutoff_type differs between bonds; it must be the same for all");
  if (model.bonds[0].inner == InnerCutoff::Zbl)
    for (int mu = 0; mu < nel; ++mu)
      if (model.atomic_numbers[mu] == 0)
        Reader::fail("elements", &elements,
                     "'" + model.elements[mu] + "' is not a chemical symbol, which ZBL core repulsion needs");

  model.functions.assign(nel, {});
  const YamlNode &functions = Reader::get(doc, "functions", "");
  if (!functions.is_mapping()) Reader::fail("functions", &functions, "expected a mapping from element index");
  for (const auto &entry : functions.entries) {
    std::string k = "functions." + entry.first.brief();
    int mu0 = Reader::integer(entry.first, k, 0, nel - 1);
    const YamlNode &list = Reader::sequence(entry.second, k);
    for (size_t q = 0; q < list.items.size(); ++q)
      model.functions[mu0].push_back(
          read_function(list.items[q], k + "[" + std::to_string(q) + "]", mu0, model));
  }
  return model;
}

}  // namespace simkit_pace
