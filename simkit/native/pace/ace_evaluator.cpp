#include "ace_evaluator.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace simkit_pace {

namespace {

// FinnisSinclairShiftedScaled: sign(rho) ((x0 + |rho|)^m - y0) with offsets
// decaying as exp(-|rho|), which keeps F'(0) finite for m < 1 (Bochkarev 2022).
double embed_shifted_scaled(double rho, double m, double &dF)
{
  if (std::fabs(m - 1.0) < 1e-10) {
    dF = 1.0;
    return rho;
  }
  const double a = std::fabs(rho), e = std::exp(-a), nx = 1.0 / m;
  const double x0 = std::pow(nx, nx / (1.0 - nx)) * e;
  const double y0 = std::pow(nx, 1.0 / (1.0 - nx)) * e;
  const double base = x0 + a;
  dF = m * std::pow(base, m - 1.0) * (1.0 - x0) + y0;
  double sign = (rho > 0.0) - (rho < 0.0);
  return sign * (std::pow(base, m) - y0);
}

// FinnisSinclair: sign(rho) |rho|^m, blended into a straight line of slope
// w^(1-m) below |rho| ~ 1/w so the derivative stays bounded at rho = 0.
double embed_finnis_sinclair(double rho, double m, double &dF)
{
  const double w = 1.0e6, slope = std::pow(w, 1.0 - m);
  const double a = std::fabs(rho);
  if (a <= 1e-10) {
    dF = slope;
    return slope * rho;
  }
  const double wa = w * a;
  const double g = std::exp(-wa * wa * wa);
  const double dg = -3.0 * w * wa * wa * g;
  const double am = std::pow(a, m);
  dF = (1.0 - g) * m * am / a + slope * g + (slope * a - am) * dg;
  double sign = rho > 0.0 ? 1.0 : -1.0;
  return sign * ((1.0 - g) * am + slope * g * a);
}

}  // namespace

AceEvaluator::AceEvaluator(ModelSpec spec) : spec_(std::move(spec))
{
  const int nel = spec_.nelements();
  for (int i = 0; i < nel; ++i)
    for (int j = 0; j < nel; ++j) {
      tables_.emplace_back(spec_.bond(i, j), spec_.atomic_numbers[i], spec_.atomic_numbers[j],
                           spec_.delta_spline_bins_A);
      max_func_ = std::max(max_func_, tables_.back().nfunc());
    }
  for (int mu = 0; mu < nel; ++mu) {
    programs_.push_back(compile_element(spec_, mu));
    harmonics_.emplace_back(programs_.back().lmax);
  }
}

size_t AceEvaluator::memory_bytes() const
{
  size_t total = 0;
  for (const auto &t : tables_) total += t.memory_bytes();
  for (const auto &p : programs_)
    total += (p.ops.size() + p.tail.size()) * sizeof(ElementProgram::Op) +
             (p.root_coef.size() + p.tail_coef.size()) * sizeof(double);
  return total;
}

void AceEvaluator::reserve(Workspace &ws, int n, const ElementProgram &prog) const
{
  if (n > ws.capacity) {
    int cap = std::max({n, 2 * ws.capacity, 64});
    size_t nlm_max = 1, radial_max = 1;
    for (const auto &p : programs_) {
      nlm_max = std::max<size_t>(nlm_max, p.nlm);
      radial_max = std::max<size_t>(radial_max, static_cast<size_t>(p.nrad) * p.nlm);
    }
    ws.capacity = cap;
    ws.r.resize(cap);
    ws.u.resize(3 * static_cast<size_t>(cap));
    ws.rad.resize(static_cast<size_t>(cap) * max_func_);
    ws.drad.resize(static_cast<size_t>(cap) * max_func_);
    ws.yre.resize(cap * nlm_max);
    ws.yim.resize(cap * nlm_max);
    ws.dyre.resize(3 * cap * nlm_max);
    ws.dyim.resize(3 * cap * nlm_max);
    ws.rexp.resize(cap * radial_max);
    ws.drexp.resize(cap * radial_max);
    ws.er.resize(nlm_max);
    ws.ei.resize(nlm_max);
    ws.fr.resize(nlm_max);
    ws.fi.resize(nlm_max);
  }
  auto grow = [](std::vector<double> &v, size_t size) {
    if (v.size() < size) v.resize(size);
  };
  const size_t nrank1 = static_cast<size_t>(prog.nelements) * prog.nradbase;
  grow(ws.a1, nrank1);
  grow(ws.w1, nrank1);
  grow(ws.ahr, prog.half_size());
  grow(ws.ahi, prog.half_size());
  grow(ws.dhr, prog.half_size());
  grow(ws.dhi, prog.half_size());
  grow(ws.value, 2 * static_cast<size_t>(prog.nnodes()));
  grow(ws.adjoint, 2 * static_cast<size_t>(prog.nnodes()));
  grow(ws.root_scratch, static_cast<size_t>(prog.nroots()) + prog.ntail());
  grow(ws.rho, prog.ndensity);
  grow(ws.drho, prog.ndensity);
}

double AceEvaluator::embed(int mu_i, const double *rho, double *drho) const
{
  const EmbeddingSpec &e = spec_.embeddings[mu_i];
  double phi = 0.0;
  for (int p = 0; p < e.ndensity; ++p) {
    const double weight = e.fs_parameters[2 * p], m = e.fs_parameters[2 * p + 1];
    double dF;
    double F = (e.kind == EmbeddingKind::FinnisSinclairShiftedScaled) ? embed_shifted_scaled(rho[p], m, dF)
                                                                      : embed_finnis_sinclair(rho[p], m, dF);
    phi += weight * F;
    drho[p] = weight * dF;
  }
  return phi;
}

double AceEvaluator::accumulate(int mu_i, int n, const double *rij, const int *mu_j, Workspace &ws,
                                ShortestBond &shortest) const
{
  const ElementProgram &P = programs_[mu_i];
  const SphericalHarmonics &sh = harmonics_[mu_i];
  const int nel = nelements(), nf = max_func_, nb = P.nradbase, nlm = P.nlm;
  const bool zbl = spec_.bonds[0].inner == InnerCutoff::Zbl;
  double *a1 = ws.a1.data(), *ahr = ws.ahr.data(), *ahi = ws.ahi.data();
  std::fill(a1, a1 + static_cast<size_t>(nel) * nb, 0.0);
  std::fill(ahr, ahr + P.half_size(), 0.0);
  std::fill(ahi, ahi + P.half_size(), 0.0);
  const int *lof = P.l_of_lm.data();

  double rho_core = 0.0;
  for (int k = 0; k < n; ++k) {
    const double *d = rij + 3 * k;
    const int mu = mu_j[k];
    const BondSpec &b = spec_.bond(mu_i, mu);
    const double r = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    if (!(r < b.rcut_A) || r <= 0.0) {
      ws.r[k] = -1.0;  // marks a neighbour that contributes nothing
      continue;
    }
    ws.r[k] = r;
    double *u = &ws.u[3 * static_cast<size_t>(k)];
    u[0] = d[0] / r;
    u[1] = d[1] / r;
    u[2] = d[2] / r;
    const RadialTable &T = tables_[mu_i * nel + mu];
    double *val = &ws.rad[static_cast<size_t>(k) * nf], *der = &ws.drad[static_cast<size_t>(k) * nf];
    T.evaluate(r, val, der);
    rho_core += val[T.core_offset()];
    if (zbl) {
      const double dd = r - (b.rcut_in_A - b.dcut_in_A);
      if (dd < shortest.d || (dd == shortest.d && b.dcut_in_A > shortest.width)) shortest = {dd, b.dcut_in_A, k};
    }
    if (P.has_rank1)
      for (int q = 0; q < T.nbase(); ++q) a1[mu * nb + q] += val[q];
    if (T.nrad() == 0 || P.nrad == 0) continue;

    double *yre = &ws.yre[static_cast<size_t>(k) * nlm], *yim = &ws.yim[static_cast<size_t>(k) * nlm];
    sh.compute(u, 1.0 / r, yre, yim, &ws.dyre[3 * static_cast<size_t>(k) * nlm],
               &ws.dyim[3 * static_cast<size_t>(k) * nlm], nlm);
    // R_nl spread over m (kept for the gradient pass) lets both passes run
    // contiguous loops over lm
    double *rexp = &ws.rexp[static_cast<size_t>(k) * P.nrad * nlm];
    double *drexp = &ws.drexp[static_cast<size_t>(k) * P.nrad * nlm];
    const int nlm_bond = T.nl() * (T.nl() + 1) / 2;
    for (int nn = 0; nn < T.nrad(); ++nn) {
      const int nuse = std::min(P.nlm_used[static_cast<size_t>(mu) * P.nrad + nn], nlm_bond);
      if (nuse == 0) continue;
      const double *Rn = &val[T.r_offset() + nn * T.nl()], *dRn = &der[T.r_offset() + nn * T.nl()];
      double *__restrict re = rexp + nn * nlm, *__restrict dre = drexp + nn * nlm;
      double *__restrict hr = ahr + P.half_index(mu, nn, 0, 0), *__restrict hi = ahi + P.half_index(mu, nn, 0, 0);
      for (int lm = 0; lm < nuse; ++lm) {
        re[lm] = Rn[lof[lm]];
        dre[lm] = dRn[lof[lm]];
      }
      for (int lm = 0; lm < nuse; ++lm) {
        hr[lm] += re[lm] * yre[lm];
        hi[lm] += re[lm] * yim[lm];
      }
    }
  }
  return rho_core;
}

void AceEvaluator::bond_gradients(int mu_i, int n, const int *mu_j, const Weights &w, Workspace &ws,
                                  double *grad) const
{
  const ElementProgram &P = programs_[mu_i];
  const int nel = nelements(), nf = max_func_, nb = P.nradbase, nlm = P.nlm;
  const double *w1 = ws.w1.data(), *dhr = ws.dhr.data(), *dhi = ws.dhi.data();
  for (int k = 0; k < n; ++k) {
    grad[3 * k] = grad[3 * k + 1] = grad[3 * k + 2] = 0.0;
    if (ws.r[k] < 0.0) continue;
    const int mu = mu_j[k];
    const RadialTable &T = tables_[mu_i * nel + mu];
    const double *der = &ws.drad[static_cast<size_t>(k) * nf];
    const double *u = &ws.u[3 * static_cast<size_t>(k)];
    double radial = w.core * der[T.core_offset()];
    if (k == w.shortest_index) radial += w.shortest;
    double gx = 0.0, gy = 0.0, gz = 0.0;
    if (w.ace) {
      if (P.has_rank1)
        for (int q = 0; q < T.nbase(); ++q) radial += w1[mu * nb + q] * der[q];
      // E_lm = sum_n R_nl dE/dA_nlm and F_lm = sum_n R'_nl dE/dA_nlm turn the
      // gradient into one pass over lm: dE/dr = u Re(F.Y) + Re(E.grad Y)
      const int nlm_bond = T.nl() * (T.nl() + 1) / 2;
      double *__restrict er = ws.er.data(), *__restrict ei = ws.ei.data();
      double *__restrict fr = ws.fr.data(), *__restrict fi = ws.fi.data();
      std::fill(er, er + nlm_bond, 0.0);
      std::fill(ei, ei + nlm_bond, 0.0);
      std::fill(fr, fr + nlm_bond, 0.0);
      std::fill(fi, fi + nlm_bond, 0.0);
      const double *rexp = &ws.rexp[static_cast<size_t>(k) * P.nrad * nlm];
      const double *drexp = &ws.drexp[static_cast<size_t>(k) * P.nrad * nlm];
      int nmax = 0;
      for (int nn = 0; nn < T.nrad(); ++nn) {
        const int nuse = std::min(P.nlm_used[static_cast<size_t>(mu) * P.nrad + nn], nlm_bond);
        if (nuse == 0) continue;
        nmax = std::max(nmax, nuse);
        const double *__restrict re = rexp + nn * nlm, *__restrict dre = drexp + nn * nlm;
        const double *__restrict hr = dhr + P.half_index(mu, nn, 0, 0), *__restrict hi = dhi + P.half_index(mu, nn, 0, 0);
        for (int lm = 0; lm < nuse; ++lm) {
          er[lm] += re[lm] * hr[lm];
          ei[lm] += re[lm] * hi[lm];
          fr[lm] += dre[lm] * hr[lm];
          fi[lm] += dre[lm] * hi[lm];
        }
      }
      const double *yre = &ws.yre[static_cast<size_t>(k) * nlm], *yim = &ws.yim[static_cast<size_t>(k) * nlm];
      const double *dxr = &ws.dyre[3 * static_cast<size_t>(k) * nlm], *dyr = dxr + nlm, *dzr = dyr + nlm;
      const double *dxi = &ws.dyim[3 * static_cast<size_t>(k) * nlm], *dyi = dxi + nlm, *dzi = dyi + nlm;
      double s = 0.0, tx = 0.0, ty = 0.0, tz = 0.0;
#pragma omp simd reduction(+ : s, tx, ty, tz)
      for (int lm = 0; lm < nmax; ++lm) {
        s += fr[lm] * yre[lm] - fi[lm] * yim[lm];
        tx += er[lm] * dxr[lm] - ei[lm] * dxi[lm];
        ty += er[lm] * dyr[lm] - ei[lm] * dyi[lm];
        tz += er[lm] * dzr[lm] - ei[lm] * dzi[lm];
      }
      radial += s;
      gx = tx;
      gy = ty;
      gz = tz;
    }
    grad[3 * k] = radial * u[0] + gx;
    grad[3 * k + 1] = radial * u[1] + gy;
    grad[3 * k + 2] = radial * u[2] + gz;
  }
}

double AceEvaluator::compute_atom(int mu_i, int n, const double *rij, const int *mu_j, double *grad,
                                  Workspace &ws) const
{
  const ElementProgram &P = programs_[mu_i];
  const int nel = nelements(), nd = P.ndensity, nb = P.nradbase;
  const bool zbl = spec_.bonds[0].inner == InnerCutoff::Zbl;
  reserve(ws, n, P);

  ShortestBond shortest;
  const double rho_core = accumulate(mu_i, n, rij, mu_j, ws, shortest);

  // How much of the ACE energy survives the core switch decides whether the
  // product graph needs evaluating at all.
  const EmbeddingSpec &emb = spec_.embeddings[mu_i];
  double weight, dweight = 0.0;
  if (zbl)
    weight = (shortest.index < 0) ? 1.0 : poly_cutoff(shortest.width - shortest.d, shortest.width, shortest.width, dweight);
  else
    weight = poly_cutoff(rho_core, emb.rho_core_cutoff, emb.drho_core_cutoff, dweight);

  double *rho = ws.rho.data(), *drho = ws.drho.data(), *a1 = ws.a1.data();
  double phi = 0.0;
  const bool ace_active = weight != 0.0 || dweight != 0.0;
  if (ace_active) {
    std::fill(rho, rho + nd, 0.0);
    if (P.has_rank1)
      for (int idx = 0; idx < nel * nb; ++idx)
        if (a1[idx] != 0.0)
          for (int p = 0; p < nd; ++p) rho[p] += P.rank1_coef[static_cast<size_t>(idx) * nd + p] * a1[idx];
    run_forward(P, ws.ahr.data(), ws.ahi.data(), ws.value.data(), rho, ws.root_scratch.data());
    phi = embed(mu_i, rho, drho);
  }

  Weights w;
  w.shortest_index = shortest.index;
  double energy;
  if (zbl) {
    energy = phi * weight + rho_core * (1.0 - weight);
    w.core = 1.0 - weight;
    // the switch depends on the shortest bond through x = width - d
    w.shortest = -(phi - rho_core) * dweight;
  } else {
    energy = phi * weight + rho_core;
    w.core = 1.0 + phi * dweight;
  }
  energy += spec_.e0_eV[mu_i];

  w.ace = ace_active && weight != 0.0;
  if (w.ace) {
    for (int p = 0; p < nd; ++p) drho[p] *= weight;
    if (P.has_rank1)
      for (int idx = 0; idx < nel * nb; ++idx) {
        double s = 0.0;
        for (int p = 0; p < nd; ++p) s += drho[p] * P.rank1_coef[static_cast<size_t>(idx) * nd + p];
        ws.w1[idx] = s;
      }
    std::fill(ws.dhr.begin(), ws.dhr.begin() + P.half_size(), 0.0);
    std::fill(ws.dhi.begin(), ws.dhi.begin() + P.half_size(), 0.0);
    run_backward(P, ws.value.data(), drho, ws.adjoint.data(), ws.root_scratch.data(), ws.dhr.data(), ws.dhi.data());
  }
  bond_gradients(mu_i, n, mu_j, w, ws, grad);
  return energy;
}

}  // namespace simkit_pace
