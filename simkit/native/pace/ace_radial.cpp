#include "ace_radial.h"

#include <cmath>

namespace simkit_pace {

namespace {

constexpr double kPi = 3.14159265358979323846;
// e^2 / (4 pi eps0) in eV*Angstrom: ZBL energies are quoted in these units.
constexpr double kCoulomb_eVA = 14.399645351950543;

// Universal ZBL screening: phi(x) = sum_i c_i exp(-e_i x).
constexpr double kZblC[4] = {0.18175, 0.50986, 0.28022, 0.02817};
constexpr double kZblE[4] = {3.19980, 0.94229, 0.40290, 0.20162};
constexpr double kZblLength_A = 0.46850;

// Largest radial table, in doubles (8 GiB).
constexpr double kMaxTableValues = 1024.0 * 1024.0 * 1024.0;

// Chebyshev polynomials T_0..T_{n-1} and their derivatives at x.
void chebyshev(int n, double x, double *t, double *dt)
{
  if (n <= 0) return;
  t[0] = 1.0;
  dt[0] = 0.0;
  if (n == 1) return;
  t[1] = x;
  dt[1] = 1.0;
  for (int k = 2; k < n; ++k) {
    t[k] = 2.0 * x * t[k - 1] - t[k - 2];
    dt[k] = 2.0 * t[k - 1] + 2.0 * x * dt[k - 1] - dt[k - 2];
  }
}

void sinc_with_derivative(double x, double &s, double &ds)
{
  if (std::fabs(x) < 1e-8) {
    s = 1.0 - x * x / 6.0;
    ds = -x / 3.0;
    return;
  }
  double sn = std::sin(x), cs = std::cos(x);
  s = sn / x;
  ds = (x * cs - sn) / (x * x);
}

// Simplified spherical Bessel basis (Kocer, Mason, Erturk 2019): orthogonalised
// combinations of sinc functions that vanish with zero slope at rc.
void sbessel(int nb, double rc, double r, double *g, double *dg)
{
  double d_prev = 1.0;
  for (int n = 0; n < nb; ++n) {
    double a1 = (n + 1) * kPi / rc, a2 = (n + 2) * kPi / rc;
    double s1, ds1, s2, ds2;
    sinc_with_derivative(a1 * r, s1, ds1);
    sinc_with_derivative(a2 * r, s2, ds2);
    double pref = (n % 2 ? -1.0 : 1.0) * std::sqrt(2.0) * kPi / std::pow(rc, 1.5) * (n + 1) * (n + 2) /
                  std::sqrt(double((n + 1) * (n + 1) + (n + 2) * (n + 2)));
    double f = pref * (s1 + s2);
    double df = pref * (a1 * ds1 + a2 * ds2);
    if (n == 0) {
      g[0] = f;
      dg[0] = df;
      continue;
    }
    double e = double(n) * n * (n + 2) * (n + 2) / (4.0 * std::pow(n + 1.0, 4) + 1.0);
    double d = 1.0 - e / d_prev;
    double mix = std::sqrt(e / d_prev), norm = 1.0 / std::sqrt(d);
    g[n] = norm * (f + mix * g[n - 1]);
    dg[n] = norm * (df + mix * dg[n - 1]);
    d_prev = d;
  }
}

void cheb_exp_cos(int nb, double rc, double dcut, double lambda, double r, double *g, double *dg)
{
  double e = std::exp(-lambda * (r / rc - 1.0));
  double denom = std::exp(lambda) - 1.0;
  double x = 1.0 - 2.0 * (e - 1.0) / denom;
  double dx = 2.0 * lambda * e / (rc * denom);
  double fc = 0.5 * (1.0 + std::cos(kPi * r / rc));
  double dfc = -0.5 * kPi / rc * std::sin(kPi * r / rc);
  double t[256], dt[256];
  chebyshev(nb, x, t, dt);
  for (int k = 0; k < nb; ++k) {
    double p = (k == 0) ? 1.0 : 0.5 * (1.0 - t[k]);
    double dp = (k == 0) ? 0.0 : -0.5 * dt[k] * dx;
    g[k] = p * fc;
    dg[k] = dp * fc + p * dfc;
  }
  // ChebExpCos additionally tapers to zero over the last dcut before rc
  if (dcut > 0.0 && r > rc - dcut) {
    double arg = kPi * (r - rc + dcut) / dcut;
    double s = 0.5 * (1.0 + std::cos(arg)), ds = -0.5 * kPi / dcut * std::sin(arg);
    for (int k = 0; k < nb; ++k) {
      dg[k] = dg[k] * s + g[k] * ds;
      g[k] *= s;
    }
  }
}

void cheb_pow(int nb, double rc, double lambda, double r, double *g, double *dg)
{
  double y = 1.0 - r / rc;
  double ypow = std::pow(y, lambda);
  double x = 1.0 - 2.0 * ypow;
  double dx = (y > 0.0) ? 2.0 * lambda * std::pow(y, lambda - 1.0) / rc : 0.0;
  double t[257], dt[257];
  chebyshev(nb + 1, x, t, dt);
  for (int k = 0; k < nb; ++k) {
    g[k] = 0.5 * (1.0 - t[k + 1]);
    dg[k] = -0.5 * dt[k + 1] * dx;
  }
}

// Screened Coulomb energy phi(r/a)/r (without Z1*Z2*k_e) and two derivatives.
void zbl_screened(double r, double a, double &e, double &de, double &d2e)
{
  double ph = 0, dph = 0, d2ph = 0;
  for (int i = 0; i < 4; ++i) {
    double term = kZblC[i] * std::exp(-kZblE[i] * r / a);
    ph += term;
    dph -= kZblE[i] / a * term;
    d2ph += kZblE[i] * kZblE[i] / (a * a) * term;
  }
  e = ph / r;
  de = dph / r - ph / (r * r);
  d2e = d2ph / r - 2.0 * dph / (r * r) + 2.0 * ph / (r * r * r);
}

}  // namespace

double poly_cutoff(double x, double x_in, double delta, double &dfdx)
{
  dfdx = 0.0;
  if (x >= x_in) return 0.0;
  if (x <= x_in - delta) return 1.0;
  double y = -1.0 - 2.0 * (x - x_in) / delta;
  double y2 = y * y;
  double f = 7.5 * (y / 4.0 - y * y2 / 6.0 + y * y2 * y2 / 20.0);
  dfdx = -(7.5 / 4.0) * (1.0 - y2) * (1.0 - y2) / delta;
  return 0.5 * (1.0 + f);
}

void radial_basis_exact(const BondSpec &b, double r, double *g, double *dg)
{
  const int nb = b.nradbase;
  if (r >= b.rcut_A) {
    for (int k = 0; k < nb; ++k) g[k] = dg[k] = 0.0;
    return;
  }
  switch (b.radial) {
    case RadialKind::SBessel: sbessel(nb, b.rcut_A, r, g, dg); break;
    case RadialKind::ChebExpCos: cheb_exp_cos(nb, b.rcut_A, b.dcut_A, b.lambda, r, g, dg); break;
    case RadialKind::ChebPow: cheb_pow(nb, b.rcut_A, b.lambda, r, g, dg); break;
  }
  if (b.inner == InnerCutoff::Distance) {
    // the basis fades out inside rcut_in where the core repulsion takes over
    double dfc;
    double fc = poly_cutoff(r, b.rcut_in_A, b.dcut_in_A, dfc);
    for (int k = 0; k < nb; ++k) {
      dg[k] = dg[k] * (1.0 - fc) - g[k] * dfc;
      g[k] *= (1.0 - fc);
    }
  } else if (b.inner == InnerCutoff::Density && r <= b.rcut_in_A - b.dcut_in_A) {
    // in the density scheme the basis is simply absent below the inner cutoff;
    // the spline then carries it to zero over one bin
    for (int k = 0; k < nb; ++k) g[k] = dg[k] = 0.0;
  }
}

void core_repulsion_exact(const BondSpec &b, int Zi, int Zj, double r, double &cr, double &dcr)
{
  cr = dcr = 0.0;
  if (r >= b.rcut_A || r <= 0.0) return;
  if (b.inner == InnerCutoff::Zbl) {
    // ZBL with the energy/force/curvature switch of Ziegler-style pair styles
    // over [rc - dcut, rc], times a smooth step there; each atom of the pair
    // carries half of the pair energy.
    const double rc = b.rcut_A, dr = b.dcut_A, r_switch = rc - dr;
    const double a = kZblLength_A / (std::pow(Zi, 0.23) + std::pow(Zj, 0.23));
    double e, de, d2e, ec, dec, d2ec;
    zbl_screened(r, a, e, de, d2e);
    zbl_screened(rc, a, ec, dec, d2ec);
    double s = 0.0, ds = 0.0;
    if (dr > 0.0) {
      double A = (-3.0 * dec + dr * d2ec) / (dr * dr);
      double B = (2.0 * dec - dr * d2ec) / (dr * dr * dr);
      double C = -ec + 0.5 * dr * dec - dr * dr / 12.0 * d2ec;
      s = C;
      if (r > r_switch) {
        double t = r - r_switch;
        s = A / 3.0 * t * t * t + B / 4.0 * t * t * t * t + C;
        ds = A * t * t + B * t * t * t;
      }
    } else {
      s = -ec;
    }
    double dstep;
    double step = poly_cutoff(r, rc, dr, dstep);
    double scale = b.prehc * kCoulomb_eVA * 0.5 * Zi * Zj;
    cr = scale * (e + s) * step;
    dcr = scale * ((de + ds) * step + (e + s) * dstep);
    return;
  }
  // exponential hard core; the reference evaluator ignores the signs of both
  // parameters, i.e. a core is always repulsive
  const double pre = std::fabs(b.prehc), lam = std::fabs(b.lambdahc);
  if (pre == 0.0) return;
  double ex = std::exp(-lam * r * r);
  double fc = 0.5 * (1.0 + std::cos(kPi * r / b.rcut_A));
  double dfc = -0.5 * kPi / b.rcut_A * std::sin(kPi * r / b.rcut_A);
  double v = pre * ex / r;
  double dv = v * (-2.0 * lam * r - 1.0 / r);
  cr = v * fc;
  dcr = dv * fc + v * dfc;
  if (b.inner == InnerCutoff::Distance) {
    double dstep;
    double step = poly_cutoff(r, b.rcut_in_A, b.dcut_in_A, dstep);
    dcr = dcr * step + cr * dstep;
    cr *= step;
  }
}

RadialTable::RadialTable(const BondSpec &b, int Zi, int Zj, double step_A)
    : nbase_(b.nradbase), nrad_(b.nradmax), nl_(b.lmax + 1), rcut_A_(b.rcut_A)
{
  nfunc_ = nbase_ + nrad_ * nl_ + 1;
  // The grid spans exactly [0, rcut] with floor(rcut/step) bins, i.e. the step
  // is rounded down to fit, as in the reference evaluator. The count is formed
  // in floating point and bounded before it becomes an int (read_model refuses
  // such files first; this keeps the table safe for any caller).
  const double bins = std::floor(rcut_A_ / step_A);
  if (!(bins <= kMaxSplineBins))
    throw FormatError("deltaSplineBins: more than 1e7 spline bins up to rcut " + std::to_string(rcut_A_) + " A");
  // Every bin holds 4 cubic coefficients per function; beyond kMaxTableValues
  // (8 GiB) the allocation would only end in the kernel's out-of-memory killer.
  if (bins * nfunc_ * 4.0 > kMaxTableValues)
    throw FormatError("radial spline table of " + std::to_string(static_cast<long long>(bins)) + " bins x " +
                      std::to_string(nfunc_) + " functions exceeds 8 GiB; increase deltaSplineBins");
  nbins_ = bins < 1.0 ? 1 : static_cast<int>(bins);
  step_A_ = rcut_A_ / nbins_;
  inv_step_ = 1.0 / step_A_;
  const int nnodes = nbins_ + 1, nf = nfunc_;

  // node values and slopes of [g_k | R_nl = sum_k c_nlk g_k | core]
  std::vector<double> val(static_cast<size_t>(nnodes) * nf), der(val.size());
  for (int k = 0; k < nnodes; ++k) {
    // r = 0 is singular for the core term; the first bin is physically unreachable
    double r = (k == 0) ? 1e-3 * step_A_ : k * step_A_;
    double *v = &val[static_cast<size_t>(k) * nf], *d = &der[static_cast<size_t>(k) * nf];
    radial_basis_exact(b, r, v, d);
    for (int n = 0; n < nrad_; ++n)
      for (int l = 0; l < nl_; ++l) {
        double s = 0.0, ds = 0.0;
        for (int q = 0; q < nbase_; ++q) {
          s += b.crad_at(n, l, q) * v[q];
          ds += b.crad_at(n, l, q) * d[q];
        }
        v[nbase_ + n * nl_ + l] = s;
        d[nbase_ + n * nl_ + l] = ds;
      }
    core_repulsion_exact(b, Zi, Zj, r, v[nf - 1], d[nf - 1]);
  }

  coef_.assign(static_cast<size_t>(nbins_) * nf * 4, 0.0);
  for (int k = 0; k < nbins_; ++k) {
    double *c = &coef_[static_cast<size_t>(k) * nf * 4];
    for (int q = 0; q < nf; ++q) {
      double f0 = val[static_cast<size_t>(k) * nf + q], f1 = val[static_cast<size_t>(k + 1) * nf + q];
      double d0 = der[static_cast<size_t>(k) * nf + q] * step_A_;
      double d1 = der[static_cast<size_t>(k + 1) * nf + q] * step_A_;
      c[q] = f0;
      c[nf + q] = d0;
      c[2 * nf + q] = 3.0 * (f1 - f0) - 2.0 * d0 - d1;
      c[3 * nf + q] = 2.0 * (f0 - f1) + d0 + d1;
    }
  }
}

void RadialTable::evaluate(double r, double *__restrict value, double *__restrict deriv) const
{
  double x = r * inv_step_;
  int k = static_cast<int>(x);
  if (k >= nbins_) k = nbins_ - 1;
  const double t = x - k;
  const int nf = nfunc_;
  const double *__restrict c0 = &coef_[static_cast<size_t>(k) * nf * 4];
  const double *__restrict c1 = c0 + nf, *__restrict c2 = c1 + nf, *__restrict c3 = c2 + nf;
  for (int q = 0; q < nf; ++q) {
    value[q] = c0[q] + t * (c1[q] + t * (c2[q] + t * c3[q]));
    deriv[q] = (c1[q] + t * (2.0 * c2[q] + 3.0 * t * c3[q])) * inv_step_;
  }
}

}  // namespace simkit_pace
