#include "ace_harmonics.h"

#include "ace_model.h"

#include <cmath>

namespace simkit_pace {

SphericalHarmonics::SphericalHarmonics(int lmax) : lmax_(lmax), norm_(count())
{
  for (int l = 0; l <= lmax_; ++l)
    for (int m = 0; m <= l; ++m) {
      // (l-m)!/(l+m)! accumulated as a product to stay accurate for large l
      double ratio = 1.0;
      for (int k = l - m + 1; k <= l + m; ++k) ratio /= k;
      norm_[index(l, m)] = ((m % 2) ? -1.0 : 1.0) * std::sqrt((2.0 * l + 1.0) * ratio);
    }
}

void SphericalHarmonics::compute(const double u[3], double inv_r, double *yre, double *yim, double *dyre,
                                 double *dyim, int stride) const
{
  const double x = u[0], y = u[1], z = u[2];
  // q[l][m] = d^m P_l/dz^m, kept for m <= l + 1 so the z-derivative Q_{l,m+1} is at hand
  double q[kMaxL + 1][kMaxL + 2];
  for (int m = 0; m <= lmax_; ++m) {
    double qmm = 1.0;
    for (int k = 1; k <= m; ++k) qmm *= (2.0 * k - 1.0);
    q[m][m] = qmm;
    if (m + 1 <= lmax_) q[m + 1][m] = (2.0 * m + 1.0) * z * qmm;
    for (int l = m + 2; l <= lmax_; ++l)
      q[l][m] = ((2.0 * l - 1.0) * z * q[l - 1][m] - (l + m - 1.0) * q[l - 2][m]) / (l - m);
  }
  for (int l = 0; l <= lmax_; ++l) q[l][l + 1] = 0.0;

  // (x + i y)^m and m (x + i y)^(m-1)
  double wr[kMaxL + 1], wi[kMaxL + 1];
  wr[0] = 1.0;
  wi[0] = 0.0;
  for (int m = 1; m <= lmax_; ++m) {
    wr[m] = wr[m - 1] * x - wi[m - 1] * y;
    wi[m] = wr[m - 1] * y + wi[m - 1] * x;
  }

  for (int l = 0; l <= lmax_; ++l)
    for (int m = 0; m <= l; ++m) {
      const int lm = index(l, m);
      const double k = norm_[lm];
      const double a = k * q[l][m];
      yre[lm] = a * wr[m];
      yim[lm] = a * wi[m];
      // gradient of the polynomial extension in (x, y, z) ...
      double gxr = 0, gxi = 0, gyr = 0, gyi = 0;
      if (m > 0) {
        gxr = a * m * wr[m - 1];
        gxi = a * m * wi[m - 1];
        gyr = -gxi;  // d/dy (x+iy)^m = i m (x+iy)^(m-1)
        gyi = gxr;
      }
      const double b = k * q[l][m + 1];
      double gzr = b * wr[m], gzi = b * wi[m];
      // ... projected onto the sphere and scaled by 1/r
      double pr = x * gxr + y * gyr + z * gzr;
      double pi = x * gxi + y * gyi + z * gzi;
      dyre[lm] = (gxr - x * pr) * inv_r;
      dyre[stride + lm] = (gyr - y * pr) * inv_r;
      dyre[2 * stride + lm] = (gzr - z * pr) * inv_r;
      dyim[lm] = (gxi - x * pi) * inv_r;
      dyim[stride + lm] = (gyi - y * pi) * inv_r;
      dyim[2 * stride + lm] = (gzi - z * pi) * inv_r;
    }
}

}  // namespace simkit_pace
