//! Differentiable bilinear warps: the same resampling as [`Image::warp`](crate::Image::warp),
//! written with burn ops so that gradients flow through it.
//!
//! The attack changes pixels in generator space and asks the recognizers, each on its own crop,
//! how much the face still looks like the person; the gradient of their answer must come back
//! through the crop into generator space. A warp with fixed geometry is linear in the image: each
//! output pixel is a weighted sum of four source pixels. So it is built once as four index
//! vectors and four weight vectors, and applied as four gathers (`select`), whose backward pass
//! burn already has (a scatter-add), on any backend.

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::Similarity;

/// A fixed bilinear resampling of `source` (width, height) images into `output`-sized ones.
#[derive(Debug, Clone)]
pub struct Warp {
    source: (usize, usize),
    output: (usize, usize),
    /// Per corner (top-left, top-right, bottom-left, bottom-right): the flat source index of
    /// each output pixel (0 where the corner falls outside; its weight is 0 there).
    indices: [Tensor<1, Int>; 4],
    /// Per corner: the bilinear weights, `[1, pixels, 1]`.
    weights: [Tensor<3>; 4],
    /// Per output pixel, how much of it comes from inside the source (1 inside, 0 outside,
    /// fractional along the edge).
    coverage: Vec<f32>,
}

impl Warp {
    /// The warp whose output pixel (x, y) samples the source at `to_source(x, y)`, with pixel
    /// centres at integers on both sides and black outside the source, exactly as
    /// [`Image::warp`](crate::Image::warp) does.
    pub fn new(
        source: (usize, usize),
        output: (usize, usize),
        to_source: impl Fn(f32, f32) -> (f32, f32),
        device: &Device,
    ) -> Warp {
        let pixels = output.0 * output.1;
        let mut indices: [Vec<i64>; 4] = std::array::from_fn(|_| Vec::with_capacity(pixels));
        let mut weights: [Vec<f32>; 4] = std::array::from_fn(|_| Vec::with_capacity(pixels));
        let mut coverage = Vec::with_capacity(pixels);
        for y in 0..output.1 {
            for x in 0..output.0 {
                let (sx, sy) = to_source(x as f32, y as f32);
                let (xf, yf) = (sx.floor(), sy.floor());
                let (wx, wy) = (sx - xf, sy - yf);
                let (xi, yi) = (xf as i64, yf as i64);
                let corners = [(xi, yi), (xi + 1, yi), (xi, yi + 1), (xi + 1, yi + 1)];
                let corner_weights = [(1.0 - wx) * (1.0 - wy), wx * (1.0 - wy), (1.0 - wx) * wy, wx * wy];
                let mut covered = 0.0;
                for k in 0..4 {
                    let (cx, cy) = corners[k];
                    let inside = cx >= 0 && cy >= 0 && (cx as usize) < source.0 && (cy as usize) < source.1;
                    let weight = if inside && sx.is_finite() && sy.is_finite() { corner_weights[k] } else { 0.0 };
                    indices[k].push(if weight != 0.0 { cy * source.0 as i64 + cx } else { 0 });
                    weights[k].push(weight);
                    covered += weight;
                }
                coverage.push(covered);
            }
        }
        Warp {
            source,
            output,
            indices: indices.map(|v| Tensor::<1, Int>::from_data(TensorData::new(v, [pixels]), device)),
            weights: weights.map(|v| Tensor::<3>::from_data(TensorData::new(v, [1, pixels, 1]), device)),
            coverage,
        }
    }

    /// The warp that shows a `source`-sized image through `similarity` (which maps source
    /// coordinates to output coordinates), like [`Similarity::warp`].
    pub fn similarity(
        source: (usize, usize),
        output: (usize, usize),
        similarity: &Similarity,
        device: &Device,
    ) -> Warp {
        let inverse = similarity.inverse();
        Warp::new(
            source,
            output,
            |x, y| {
                let p = inverse.apply(crate::Point::new(x, y));
                (p.x, p.y)
            },
            device,
        )
    }

    /// Source (width, height).
    pub fn source_size(&self) -> (usize, usize) {
        self.source
    }

    /// Output (width, height).
    pub fn output_size(&self) -> (usize, usize) {
        self.output
    }

    /// Per output pixel (row-major), the share of its value that comes from inside the source:
    /// where it is below 1, a caller can fill in from elsewhere (the rest of the photo).
    pub fn coverage(&self) -> &[f32] {
        &self.coverage
    }

    /// Warps NHWC `images` (`[batch, source height, source width, channels]`) to
    /// `[batch, output height, output width, channels]`; differentiable with respect to
    /// `images`. Images of another size than the warp's source are refused.
    pub fn apply(&self, images: Tensor<4>) -> Result<Tensor<4>, WrongSize> {
        let [batch, height, width, channels] = images.dims();
        if (width, height) != self.source {
            return Err(WrongSize { expected: self.source, got: (width, height) });
        }
        // Every pixel a row of `channels`, the batch's images one after the other, so that
        // each gather picks whole rows (dim 0). Its backward is then burn-flex's row-wise
        // scatter-add; gathering along dim 1 of `[batch, pixels, channels]` sent it down the
        // general path, a division per coordinate per value: 2.6-2.9 % of the engine's CPU in a
        // threaded web protection, 40 % of it while the other core sat idle, and 4.6 % of a
        // native one-thread protection (perf, astronaut at medium). The values and the order
        // of the sums are the same either way.
        if batch == 0 {
            // Nothing to gather; an empty batch of the output's size.
            return Ok(images.reshape([0, self.output.1, self.output.0, channels]));
        }
        let (source_pixels, pixels) = (height * width, self.output.0 * self.output.1);
        let flat = images.reshape([batch * source_pixels, channels]);
        let mut out: Option<Tensor<3>> = None;
        for (indices, weights) in self.indices.iter().zip(&self.weights) {
            let indices = match batch {
                1 => indices.clone(),
                _ => Tensor::cat((0..batch).map(|b| indices.clone() + (b * source_pixels) as i64).collect(), 0),
            };
            let term = flat.clone().select(0, indices).reshape([batch, pixels, channels]) * weights.clone();
            out = Some(match out {
                Some(sum) => sum + term,
                None => term,
            });
        }
        let out = out.unwrap_or_else(|| Tensor::zeros([batch, pixels, channels], &flat.device()));
        Ok(out.reshape([batch, self.output.1, self.output.0, channels]))
    }
}

/// An image handed to a [`Warp`] built for another size.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the warp was built for {expected:?} (width, height) images, not {got:?}")]
pub struct WrongSize {
    /// The warp's source size.
    pub expected: (usize, usize),
    /// The image's size.
    pub got: (usize, usize),
}

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;
    use facecloak_device::{Backend, CpuBackend};

    use super::*;
    use crate::{Image, Point};

    fn values(t: Tensor<4>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    /// The tensor warp is the CPU sampler, pixel for pixel, including black outside the source.
    #[test]
    fn matches_the_cpu_sampler() {
        let device = Backend::cpu(CpuBackend::Flex).device().clone();
        let image = Image { width: 13, height: 9, data: (0..13 * 9 * 3).map(|i| ((i * 53) % 255) as f32).collect() };
        let turn = Similarity::estimate(
            &[Point::new(1.0, 1.0), Point::new(12.0, 2.0), Point::new(0.0, 8.0)],
            &[Point::new(0.0, 0.0), Point::new(15.0, 0.0), Point::new(0.0, 10.0)],
        )
        .unwrap();
        let expected = turn.warp(&image, 16, 12);
        let warp = Warp::similarity((13, 9), (16, 12), &turn, &device);
        let input = Tensor::<4>::from_data(TensorData::new(image.data.clone(), [1, 9, 13, 3]), &device);
        let got = values(warp.apply(input.clone()).unwrap());
        let worst = got.iter().zip(&expected.data).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-3, "worst difference {worst}");
        assert!(warp.coverage().contains(&0.0) && warp.coverage().contains(&1.0));
        // A batch: each image through the warp on its own.
        let other = Image { width: 13, height: 9, data: image.data.iter().rev().copied().collect() };
        let both = [image.data.clone(), other.data.clone()].concat();
        let batch = values(warp.apply(Tensor::<4>::from_data(TensorData::new(both, [2, 9, 13, 3]), &device)).unwrap());
        let expected = [expected.data, turn.warp(&other, 16, 12).data].concat();
        let worst = batch.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-3, "worst difference in a batch {worst}");
        assert_eq!(warp.apply(input.clone().slice([0..1, 0..8, 0..13, 0..3])).unwrap_err().got, (13, 8));
        // An empty batch gives an empty batch.
        assert_eq!(warp.apply(input.slice([0..0, 0..9, 0..13, 0..3])).unwrap().dims(), [0, 12, 16, 3]);
    }

    /// The gradient of a weighted sum of the output with respect to the input matches central
    /// finite differences.
    #[test]
    fn gradients_match_finite_differences() {
        let device = Backend::cpu(CpuBackend::Flex).device().clone().autodiff();
        let warp = Warp::new((6, 5), (7, 4), |x, y| (x * 0.83 - 0.4, y * 1.21 + 0.3 * x - 0.7), &device);
        let x = Tensor::<4>::random([2, 5, 6, 3], Distribution::Uniform(0.0, 1.0), &device);
        let w = Tensor::<4>::random([2, 4, 7, 3], Distribution::Uniform(-1.0, 1.0), &device);
        let loss = |x: Tensor<4>| (warp.apply(x).unwrap() * w.clone()).sum();
        let input = x.clone().require_grad();
        let grads = loss(input.clone()).backward();
        let analytic = input.grad(&grads).unwrap().into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        let base = x.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        let h = 1e-2;
        for i in [0, 7, 31, 64, 95, 130, 179] {
            let at = |delta: f32| {
                let mut v = base.clone();
                v[i] += delta;
                let t = Tensor::<4>::from_data(TensorData::new(v, [2, 5, 6, 3]), &device);
                loss(t).into_scalar::<f32>()
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            assert!((numeric - analytic[i]).abs() < 2e-3, "element {i}: {numeric} vs {}", analytic[i]);
        }
        assert!(analytic.iter().any(|g| g.abs() > 0.1), "the gradient is not all zero");
    }
}
