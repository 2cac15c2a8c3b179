#include "ace_program.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <unordered_map>

namespace simkit_pace {

namespace {

using Key = std::vector<int>;

struct KeyHash {
  size_t operator()(const Key &k) const
  {
    uint64_t h = 1469598103934665603ull;
    for (int v : k) {
      h ^= static_cast<uint64_t>(static_cast<uint32_t>(v));
      h *= 1099511628211ull;
    }
    return static_cast<size_t>(h);
  }
};

struct OpRef {
  int node;
  double sr, si;
};

class GraphBuilder {
 public:
  GraphBuilder(ElementProgram &prog, std::vector<int> leaf_m, std::vector<int> leaf_neg)
      : prog_(prog), leaf_m_(std::move(leaf_m)), leaf_neg_(std::move(leaf_neg))
  {
  }

  Key negated(const Key &s) const
  {
    Key out(s.size());
    for (size_t i = 0; i < s.size(); ++i) out[i] = leaf_neg_[s[i]];
    std::sort(out.begin(), out.end());
    return out;
  }

  // Representative of {S, -S}; sets `flipped` when -S was chosen.
  Key canonical(const Key &s, bool &flipped) const
  {
    Key n = negated(s);
    flipped = n < s;
    return flipped ? n : s;
  }

  int msum(const Key &s) const
  {
    int total = 0;
    for (int k : s) total += leaf_m_[k];
    return total;
  }

  void count_subsets(const Key &product)
  {
    for (size_t t = 0; t < product.size(); ++t) {
      if (t > 0 && product[t] == product[t - 1]) continue;
      bool flipped;
      ++subset_count_[canonical(without(product, t), flipped)];
    }
  }

  // Node id of a canonical product of size >= 2, building it if needed.
  int node_for(const Key &c)
  {
    auto it = nodes_.find(c);
    if (it != nodes_.end()) return it->second;
    // Split off the single factor whose remainder is already built, or failing
    // that the remainder most products share, so later products can reuse it.
    size_t best = c.size() - 1;
    long best_score = -1;
    for (size_t t = 0; t < c.size(); ++t) {
      if (t > 0 && c[t] == c[t - 1]) continue;
      Key rest = without(c, t);
      long score;
      if (rest.size() == 1) {
        score = 1L << 40;
      } else {
        bool flipped;
        Key rc = canonical(rest, flipped);
        auto cnt = subset_count_.find(rc);
        score = (cnt == subset_count_.end()) ? 0 : cnt->second;
        if (nodes_.count(rc)) score += 1L << 40;
      }
      if (score > best_score) {
        best_score = score;
        best = t;
      }
    }
    OpRef a = reference(without(c, best));
    int id = prog_.nnodes();
    prog_.ops.push_back({a.node, c[best], a.sr, a.si});
    nodes_.emplace(c, id);
    return id;
  }

 private:
  ElementProgram &prog_;
  std::vector<int> leaf_m_, leaf_neg_;
  std::unordered_map<Key, int, KeyHash> nodes_;
  std::unordered_map<Key, long, KeyHash> subset_count_;

  static Key without(const Key &s, size_t t)
  {
    Key out;
    out.reserve(s.size() - 1);
    for (size_t i = 0; i < s.size(); ++i)
      if (i != t) out.push_back(s[i]);
    return out;
  }

  OpRef reference(const Key &s)
  {
    if (s.size() == 1) return {s[0], 1.0, 1.0};
    bool flipped;
    Key c = canonical(s, flipped);
    int id = node_for(c);
    if (!flipped) return {id, 1.0, 1.0};
    // value(S) = (-1)^{sum m_S} conj(value(-S))
    double sign = (std::abs(msum(s)) % 2) ? -1.0 : 1.0;
    return {id, sign, -sign};
  }
};

// Moves products that no other node reads to prog.tail (they have no
// dependents, so this keeps a valid evaluation order) and renumbers the rest.
void split_tail(ElementProgram &prog, const std::vector<int> &roots,
                const std::vector<std::pair<Key, const std::vector<double> *>> &ordered)
{
  const int L = prog.nleaves, N = prog.nnodes(), nd = prog.ndensity;
  std::vector<char> read(N, 0);
  for (const auto &op : prog.ops) read[op.a] = 1;
  std::vector<int> root_of(N, -1);
  for (size_t q = 0; q < roots.size(); ++q) root_of[roots[q]] = static_cast<int>(q);

  std::vector<int> renum(N);
  for (int k = 0; k < L; ++k) renum[k] = k;
  int next = L;
  for (int k = L; k < N; ++k) renum[k] = read[k] ? next++ : -1;

  std::vector<ElementProgram::Op> kept;
  std::vector<int> root_node, tail_root;
  for (int k = L; k < N; ++k) {
    ElementProgram::Op op = prog.ops[k - L];
    op.a = renum[op.a];
    if (read[k]) {
      kept.push_back(op);
      if (root_of[k] >= 0) root_node.push_back(root_of[k]);
    } else {
      prog.tail.push_back(op);
      tail_root.push_back(root_of[k]);  // an unread product exists only as a root
    }
  }
  prog.ops = std::move(kept);
  // Tail products are independent of each other; ordering them by their leaf
  // factor lets the reverse sweep sum each leaf's adjoint in a register
  // instead of re-storing it every product.
  std::vector<size_t> perm(prog.tail.size());
  for (size_t t = 0; t < perm.size(); ++t) perm[t] = t;
  std::stable_sort(perm.begin(), perm.end(), [&](size_t x, size_t y) {
    const auto &ox = prog.tail[x], &oy = prog.tail[y];
    return ox.b != oy.b ? ox.b < oy.b : ox.a < oy.a;
  });
  std::vector<ElementProgram::Op> sorted_tail;
  std::vector<int> sorted_root;
  for (size_t t : perm) {
    sorted_tail.push_back(prog.tail[t]);
    sorted_root.push_back(tail_root[t]);
  }
  prog.tail = std::move(sorted_tail);
  tail_root = std::move(sorted_root);
  const size_t nroot = root_node.size(), ntail = tail_root.size();
  prog.root_node.clear();
  prog.root_coef.assign(nroot * nd, 0.0);
  for (size_t q = 0; q < nroot; ++q) {
    prog.root_node.push_back(renum[roots[root_node[q]]]);
    for (int p = 0; p < nd; ++p) prog.root_coef[p * nroot + q] = (*ordered[root_node[q]].second)[p];
  }
  prog.tail_coef.assign(ntail * nd, 0.0);
  for (size_t t = 0; t < ntail; ++t)
    for (int p = 0; p < nd; ++p) prog.tail_coef[p * ntail + t] = (*ordered[tail_root[t]].second)[p];
}

}  // namespace

ElementProgram compile_element(const ModelSpec &model, int mu0)
{
  ElementProgram prog;
  const int nel = model.nelements();
  prog.nelements = nel;
  prog.ndensity = model.embeddings[mu0].ndensity;
  for (int mu = 0; mu < nel; ++mu) {
    const BondSpec &b = model.bond(mu0, mu);
    prog.nrad = std::max(prog.nrad, b.nradmax);
    prog.lmax = std::max(prog.lmax, b.lmax);
    prog.nradbase = std::max(prog.nradbase, b.nradbase);
  }
  prog.nlm = (prog.lmax + 1) * (prog.lmax + 2) / 2;
  const int nd = prog.ndensity, l2 = (prog.lmax + 1) * (prog.lmax + 1);
  prog.rank1_coef.assign(static_cast<size_t>(nel) * prog.nradbase * nd, 0.0);
  prog.nlm_used.assign(static_cast<size_t>(nel) * prog.nrad, 0);
  for (int l = 0; l <= prog.lmax; ++l)
    for (int m = 0; m <= l; ++m) prog.l_of_lm.push_back(l);

  // Full A slot (all m) of a factor; its m-negated partner is slot - 2m.
  auto slot = [&](int mu, int n, int l, int m) { return (mu * prog.nrad + n) * l2 + l * l + l + m; };

  std::map<Key, std::vector<double>> products;  // canonical slot multiset -> coefficients
  for (const FunctionSpec &f : model.functions[mu0]) {
    for (int c = 0; c < f.ncomb; ++c) {
      const double *ct = &f.ctildes[static_cast<size_t>(c) * nd];
      if (f.rank == 1) {
        for (int p = 0; p < nd; ++p)
          prog.rank1_coef[(static_cast<size_t>(f.mus[0]) * prog.nradbase + f.ns[0] - 1) * nd + p] += ct[p];
        prog.has_rank1 = true;
        continue;
      }
      Key s(f.rank), neg(f.rank);
      int msum = 0;
      for (int t = 0; t < f.rank; ++t) {
        int m = f.ms[static_cast<size_t>(c) * f.rank + t];
        s[t] = slot(f.mus[t], f.ns[t] - 1, f.ls[t], m);
        neg[t] = s[t] - 2 * m;
        msum += m;
      }
      std::sort(s.begin(), s.end());
      std::sort(neg.begin(), neg.end());
      // Re(c * prod) is unchanged when prod is replaced by its conjugate partner
      // times (-1)^{sum m}, so both forms collapse onto one representative.
      double sign = 1.0;
      if (neg < s) {
        s.swap(neg);
        sign = (std::abs(msum) % 2) ? -1.0 : 1.0;
      }
      std::vector<double> &acc = products[s];
      acc.resize(nd, 0.0);
      for (int p = 0; p < nd; ++p) acc[p] += sign * ct[p];
    }
  }
  for (auto it = products.begin(); it != products.end();) {
    bool zero = std::all_of(it->second.begin(), it->second.end(), [](double v) { return v == 0.0; });
    it = zero ? products.erase(it) : std::next(it);
  }

  // Leaves: every slot used, closed under m-negation so canonical sub-products
  // can always be expressed.
  std::vector<int> slots;
  for (const auto &pc : products)
    for (int s : pc.first) slots.push_back(s);
  const size_t nslots = slots.size();
  for (size_t i = 0; i < nslots; ++i) {
    int lm = slots[i] % l2, l = static_cast<int>(std::floor(std::sqrt(static_cast<double>(lm))));
    int m = lm - l * l - l;
    slots.push_back(slots[i] - 2 * m);
  }
  std::sort(slots.begin(), slots.end());
  slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
  std::unordered_map<int, int> leaf_of;
  std::vector<int> leaf_m(slots.size()), leaf_neg(slots.size());
  prog.nleaves = static_cast<int>(slots.size());
  for (int k = 0; k < prog.nleaves; ++k) leaf_of[slots[k]] = k;
  for (int k = 0; k < prog.nleaves; ++k) {
    int s = slots[k], lm = s % l2, rest = s / l2;
    int l = static_cast<int>(std::floor(std::sqrt(static_cast<double>(lm))));
    int m = lm - l * l - l, n = rest % prog.nrad, mu = rest / prog.nrad;
    leaf_m[k] = m;
    leaf_neg[k] = leaf_of.at(s - 2 * m);
    int am = std::abs(m);
    prog.leaf_half.push_back(prog.half_index(mu, n, l, am));
    double parity = (am % 2) ? -1.0 : 1.0;
    prog.leaf_sr.push_back(m < 0 ? parity : 1.0);
    prog.leaf_si.push_back(m < 0 ? -parity : 1.0);
    int &used = prog.nlm_used[static_cast<size_t>(mu) * prog.nrad + n];
    used = std::max(used, (l + 1) * (l + 2) / 2);
  }

  GraphBuilder builder(prog, leaf_m, leaf_neg);
  std::vector<std::pair<Key, const std::vector<double> *>> ordered;
  for (const auto &pc : products) {
    Key k(pc.first.size());
    for (size_t i = 0; i < k.size(); ++i) k[i] = leaf_of.at(pc.first[i]);
    std::sort(k.begin(), k.end());
    ordered.emplace_back(std::move(k), &pc.second);
  }
  // Short products first: they become the shared prefixes of longer ones.
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto &a, const auto &b) { return a.first.size() < b.first.size(); });
  for (const auto &o : ordered)
    if (o.first.size() >= 3) builder.count_subsets(o.first);
  std::vector<int> roots;
  for (const auto &o : ordered)
    // leaf numbering preserves slot order, so the products are still canonical
    roots.push_back(builder.node_for(o.first));
  split_tail(prog, roots, ordered);
  return prog;
}

void run_forward(const ElementProgram &prog, const double *ahr, const double *ahi, double *value, double *rho,
                 double *scratch)
{
  const int L = prog.nleaves, N = prog.nnodes(), nroot = prog.nroots(), ntail = prog.ntail();
  double *__restrict v = value;
  for (int k = 0; k < L; ++k) {
    const int h = prog.leaf_half[k];
    v[2 * k] = prog.leaf_sr[k] * ahr[h];
    v[2 * k + 1] = prog.leaf_si[k] * ahi[h];
  }
  const ElementProgram::Op *__restrict op = prog.ops.data();
  for (int k = L; k < N; ++k, ++op) {
    const double ar = op->sr * v[2 * op->a], ai = op->si * v[2 * op->a + 1];
    const double br = v[2 * op->b], bi = v[2 * op->b + 1];
    v[2 * k] = ar * br - ai * bi;
    v[2 * k + 1] = ar * bi + ai * br;
  }
  // Gather real parts first so each density is a contiguous dot product
  // (no store-to-load chain through rho[p] per product).
  double *__restrict root_value = scratch, *__restrict tail_value = scratch + nroot;
  for (int q = 0; q < nroot; ++q) root_value[q] = v[2 * prog.root_node[q]];
  const ElementProgram::Op *__restrict t = prog.tail.data();
  for (int q = 0; q < ntail; ++q, ++t)
    tail_value[q] = t->sr * v[2 * t->a] * v[2 * t->b] - t->si * v[2 * t->a + 1] * v[2 * t->b + 1];
  for (int p = 0; p < prog.ndensity; ++p) {
    const double *c = prog.root_coef.data() + static_cast<size_t>(p) * nroot;
    const double *ct = prog.tail_coef.data() + static_cast<size_t>(p) * ntail;
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (int q = 0; q < nroot; ++q) s += c[q] * root_value[q];
#pragma omp simd reduction(+ : s)
    for (int q = 0; q < ntail; ++q) s += ct[q] * tail_value[q];
    rho[p] += s;
  }
}

void run_backward(const ElementProgram &prog, const double *value, const double *drho, double *adjoint,
                  double *scratch, double *dhr, double *dhi)
{
  const int L = prog.nleaves, N = prog.nnodes(), nroot = prog.nroots(), ntail = prog.ntail();
  double *__restrict root_weight = scratch, *__restrict tail_weight = scratch + nroot;
  std::fill(scratch, scratch + nroot + ntail, 0.0);
  for (int p = 0; p < prog.ndensity; ++p) {
    const double *c = prog.root_coef.data() + static_cast<size_t>(p) * nroot;
    const double *ct = prog.tail_coef.data() + static_cast<size_t>(p) * ntail;
    const double w = drho[p];
    for (int q = 0; q < nroot; ++q) root_weight[q] += w * c[q];
    for (int q = 0; q < ntail; ++q) tail_weight[q] += w * ct[q];
  }
  double *__restrict g = adjoint;
  const double *__restrict v = value;
  std::fill(g, g + 2 * static_cast<size_t>(N), 0.0);
  // roots are distinct nodes, so their seeds can be assigned
  for (int q = 0; q < nroot; ++q) g[2 * prog.root_node[q]] = root_weight[q];
  // tail products have a real adjoint w: d(a*b) contributes w*op(a) to b and
  // the multiplier-weighted w*b to a
  const ElementProgram::Op *t = prog.tail.data();
  for (int q = 0; q < ntail;) {
    const int b = t[q].b;
    const double br = v[2 * b], bi = v[2 * b + 1];
    double sum_r = 0.0, sum_i = 0.0;
    for (; q < ntail && t[q].b == b; ++q) {
      const double w = tail_weight[q];
      const int a = t[q].a;
      const double wsr = w * t[q].sr, wsi = w * t[q].si;
      sum_r += wsr * v[2 * a];
      sum_i += wsi * v[2 * a + 1];
      g[2 * a] += wsr * br;
      g[2 * a + 1] += wsi * bi;
    }
    g[2 * b] += sum_r;
    g[2 * b + 1] += sum_i;
  }
  const ElementProgram::Op *op = prog.ops.data() + (N - L);
  for (int k = N - 1; k >= L; --k) {
    --op;
    const double qr = g[2 * k], qi = g[2 * k + 1];
    const int a = op->a, b = op->b;
    const double ar = op->sr * v[2 * a], ai = op->si * v[2 * a + 1];
    const double br = v[2 * b], bi = v[2 * b + 1];
    g[2 * b] += qr * ar - qi * ai;
    g[2 * b + 1] += qr * ai + qi * ar;
    g[2 * a] += op->sr * (qr * br - qi * bi);
    g[2 * a + 1] += op->si * (qr * bi + qi * br);
  }
  for (int k = 0; k < L; ++k) {
    const int h = prog.leaf_half[k];
    dhr[h] += prog.leaf_sr[k] * g[2 * k];
    dhi[h] += prog.leaf_si[k] * g[2 * k + 1];
  }
}

}  // namespace simkit_pace
