//! Decoded photos, and the one bilinear sampler every crop uses.

use std::io::Cursor;

/// An RGB image, f32 values in 0–255, row-major `[y][x][channel]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width · height · 3` values.
    pub data: Vec<f32>,
}

/// Why a file is not an image we can use.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Not a format we decode, or corrupt.
    #[error("cannot decode the image: {0}")]
    Decode(String),
    /// More pixels than the limit; refused before decoding.
    #[error("the image is {width}×{height} pixels, more than the {limit} accepted")]
    TooLarge {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The pixel limit.
        limit: u64,
    },
    /// Zero width or height.
    #[error("the image is empty")]
    Empty,
}

impl Image {
    /// The default pixel limit (50 MP).
    pub const DEFAULT_MAX_PIXELS: u64 = 50_000_000;

    /// Decodes JPEG, PNG or WebP bytes to RGB (grey replicated, alpha dropped, 16-bit scaled).
    /// The dimensions are read from the header and checked against `max_pixels` before any
    /// pixel is decoded, so a decompression bomb allocates nothing.
    pub fn decode(bytes: &[u8], max_pixels: u64) -> Result<Image, ImageError> {
        let reader = image::ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| ImageError::Decode(e.to_string()))?;
        let (width, height) = reader.into_dimensions().map_err(|e| ImageError::Decode(e.to_string()))?;
        if width == 0 || height == 0 {
            return Err(ImageError::Empty);
        }
        if width as u64 * height as u64 > max_pixels {
            return Err(ImageError::TooLarge { width, height, limit: max_pixels });
        }
        let mut reader = image::ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| ImageError::Decode(e.to_string()))?;
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(width);
        limits.max_image_height = Some(height);
        reader.limits(limits);
        let rgb = reader.decode().map_err(|e| ImageError::Decode(e.to_string()))?.into_rgb8();
        Ok(Image::from_rgb8(rgb.width() as usize, rgb.height() as usize, rgb.as_raw()))
    }

    /// Wraps packed RGB bytes.
    pub fn from_rgb8(width: usize, height: usize, rgb: &[u8]) -> Image {
        Image { width, height, data: rgb.iter().map(|&v| v as f32).collect() }
    }

    /// The value at integer pixel (x, y), channel c; 0 outside the image.
    fn at(&self, x: i64, y: i64, c: usize) -> f32 {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            0.0
        } else {
            self.data[(y as usize * self.width + x as usize) * 3 + c]
        }
    }

    /// Bilinear sample at (x, y) in pixel coordinates where pixel centres are integers;
    /// black outside the image.
    pub fn sample(&self, x: f32, y: f32) -> [f32; 3] {
        let (xf, yf) = (x.floor(), y.floor());
        let (wx, wy) = (x - xf, y - yf);
        let (xi, yi) = (xf as i64, yf as i64);
        std::array::from_fn(|c| {
            let top = self.at(xi, yi, c) * (1.0 - wx) + self.at(xi + 1, yi, c) * wx;
            let bottom = self.at(xi, yi + 1, c) * (1.0 - wx) + self.at(xi + 1, yi + 1, c) * wx;
            top * (1.0 - wy) + bottom * wy
        })
    }

    /// A `width`×`height` image whose pixel (x, y) is this image sampled at `to_source(x, y)`
    /// (pixel centres at integers on both sides).
    pub fn warp(&self, width: usize, height: usize, to_source: impl Fn(f32, f32) -> (f32, f32)) -> Image {
        let mut data = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                let (sx, sy) = to_source(x as f32, y as f32);
                data.extend(self.sample(sx, sy));
            }
        }
        Image { width, height, data }
    }

    /// The square with top-left corner (x0, y0) and side `side` (source pixels, continuous
    /// coordinates with pixel edges at integers), resized to `size`×`size`.
    pub fn crop_square(&self, x0: f32, y0: f32, side: f32, size: usize) -> Image {
        let scale = side / size as f32;
        self.warp(size, size, |x, y| (x0 + (x + 0.5) * scale - 0.5, y0 + (y + 0.5) * scale - 0.5))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_reads_pixel_centres_and_black_outside() {
        let img = Image { width: 2, height: 1, data: vec![10.0, 20.0, 30.0, 50.0, 60.0, 70.0] };
        assert_eq!(img.sample(0.0, 0.0), [10.0, 20.0, 30.0]);
        assert_eq!(img.sample(0.5, 0.0), [30.0, 40.0, 50.0]);
        assert_eq!(img.sample(-1.0, 0.0), [0.0; 3]);
        let same = img.crop_square(0.0, 0.0, 2.0, 2);
        assert_eq!(&same.data[..6], &img.data[..]);
    }

    #[test]
    fn headers_are_checked_before_decoding() {
        let mut png = Vec::new();
        image::RgbImage::new(100, 100).write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        assert!(matches!(Image::decode(&png, 99 * 100), Err(ImageError::TooLarge { width: 100, height: 100, .. })));
        assert_eq!(Image::decode(&png, 100 * 100).unwrap().width, 100);
        assert!(matches!(Image::decode(&png[..50], 1 << 20), Err(ImageError::Decode(_))));
        assert!(matches!(Image::decode(b"not an image", 1 << 20), Err(ImageError::Decode(_))));
    }
}
