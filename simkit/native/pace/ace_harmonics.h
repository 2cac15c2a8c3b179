// Complex spherical harmonics for m >= 0, in the ACE normalisation
// Y_lm * sqrt(4 pi) (so Y_00 = 1), Condon-Shortley phase, with gradients with
// respect to the (unnormalised) bond vector.
//
// Negative m follow from Y_{l,-m} = (-1)^m conj(Y_lm); the evaluator exploits
// that symmetry instead of storing them.  The harmonics are written as
// K_lm * Q_lm(z) * (x + i y)^m with Q_lm = d^m P_l / dz^m, a polynomial in the
// unit-vector components, which makes the gradient a short closed form.
#ifndef SIMKIT_PACE_ACE_HARMONICS_H
#define SIMKIT_PACE_ACE_HARMONICS_H

#include <vector>

namespace simkit_pace {

class SphericalHarmonics {
 public:
  explicit SphericalHarmonics(int lmax);

  int lmax() const { return lmax_; }
  int count() const { return (lmax_ + 1) * (lmax_ + 2) / 2; }
  static int index(int l, int m) { return l * (l + 1) / 2 + m; }

  // u: unit bond vector, inv_r: 1/|r|.  Writes count() values into yre/yim and
  // the gradient into dyre/dyim as three consecutive blocks (x, y, z) of
  // `stride` >= count() entries each, so each component is contiguous in lm.
  void compute(const double u[3], double inv_r, double *yre, double *yim, double *dyre, double *dyim,
               int stride) const;

 private:
  int lmax_;
  std::vector<double> norm_;   // K_lm = (-1)^m sqrt((2l+1)(l-m)!/(l+m)!)
};

}  // namespace simkit_pace

#endif
