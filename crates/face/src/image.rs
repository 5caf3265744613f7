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
    /// The image cannot be written in the format asked for (e.g. JPEG's 65,535-pixel limit).
    #[error("cannot write the image: {0}")]
    Encode(String),
}

impl Image {
    /// The default pixel limit (50 MP).
    pub const DEFAULT_MAX_PIXELS: u64 = 50_000_000;

    /// Decodes JPEG, PNG or WebP bytes to RGB (grey replicated, alpha dropped, 16-bit scaled,
    /// CMYK JPEGs converted),
    /// turned upright as the EXIF orientation says.
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
        let decode = |e: image::ImageError| ImageError::Decode(e.to_string());
        let mut decoder = reader.into_decoder().map_err(decode)?;
        // Phones store photos sideways with an EXIF note on how to turn them; people expect to
        // see (and faces are only found in) the turned picture. A broken EXIF block is ignored.
        let orientation =
            image::ImageDecoder::orientation(&mut decoder).unwrap_or(image::metadata::Orientation::NoTransforms);
        let mut decoded = image::DynamicImage::from_decoder(decoder).map_err(decode)?;
        decoded.apply_orientation(orientation);
        let rgb = decoded.into_rgb8();
        Ok(Image::from_rgb8(rgb.width() as usize, rgb.height() as usize, rgb.as_raw()))
    }

    /// The image as PNG bytes. Written from the pixels alone: no metadata of the photo it came
    /// from (EXIF, GPS position, XMP, camera serials) can reach the output.
    pub fn encode_png(&self) -> Result<Vec<u8>, ImageError> {
        let mut out = Vec::new();
        self.write(image::codecs::png::PngEncoder::new(&mut out))?;
        Ok(out)
    }

    /// The image as JPEG bytes at `quality` (1–100), from the pixels alone like [`Image::encode_png`].
    pub fn encode_jpeg(&self, quality: u8) -> Result<Vec<u8>, ImageError> {
        let mut out = Vec::new();
        self.write(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100)))?;
        Ok(out)
    }

    /// The image as lossless WebP bytes, from the pixels alone like [`Image::encode_png`].
    pub fn encode_webp(&self) -> Result<Vec<u8>, ImageError> {
        let mut out = Vec::new();
        self.write(image::codecs::webp::WebPEncoder::new_lossless(&mut out))?;
        Ok(out)
    }

    fn write(&self, encoder: impl image::ImageEncoder) -> Result<(), ImageError> {
        let (width, height) = (u32::try_from(self.width), u32::try_from(self.height));
        let (Ok(width), Ok(height)) = (width, height) else {
            return Err(ImageError::Encode(format!("{}×{} is too large to write", self.width, self.height)));
        };
        encoder
            .write_image(&self.to_rgb8(), width, height, image::ExtendedColorType::Rgb8)
            .map_err(|e| ImageError::Encode(e.to_string()))
    }

    /// Packed RGB bytes, rounded and clamped to 0–255.
    pub fn to_rgb8(&self) -> Vec<u8> {
        self.data.iter().map(|v| v.round().clamp(0.0, 255.0) as u8).collect()
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

    /// The image under a Gaussian blur of standard deviation `sigma` pixels, borders
    /// replicated: the low frequencies (colour and tone) without the detail (pores, edges).
    pub fn blurred(&self, sigma: f32) -> Image {
        let data = crate::blur::gaussian(&self.data, self.width, self.height, 3, sigma, crate::blur::Border::Replicate);
        Image { width: self.width, height: self.height, data }
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

    /// `jpeg` with an APP1 "Exif" segment holding `tiff` right after its start-of-image marker.
    fn with_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
        let mut app1 = vec![0xFF, 0xE1];
        app1.extend(((2 + 6 + tiff.len()) as u16).to_be_bytes());
        app1.extend(b"Exif\0\0");
        app1.extend(tiff);
        jpeg[..2].iter().chain(&app1).chain(&jpeg[2..]).copied().collect()
    }

    /// A 4×2 JPEG whose EXIF says "rotate 90° clockwise to view" (orientation 6) decodes as 2×4.
    #[test]
    fn exif_orientation_is_applied() {
        let mut jpeg = Vec::new();
        image::RgbImage::from_fn(4, 2, |x, _| image::Rgb([x as u8 * 60, 0, 0]))
            .write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
            .unwrap();
        // Little-endian TIFF header, one IFD entry: Orientation (0x0112) = 6.
        let tiff: &[u8] = &[b'I', b'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0];
        let with_exif = with_exif(&jpeg, tiff);
        let plain = Image::decode(&jpeg, 1 << 20).unwrap();
        let turned = Image::decode(&with_exif, 1 << 20).unwrap();
        assert_eq!((plain.width, plain.height), (4, 2));
        assert_eq!((turned.width, turned.height), (2, 4));
        // Turned clockwise: the dark left edge is now the top.
        assert!(turned.data[0] + 100.0 < turned.data[(3 * 2) * 3], "{:?}", turned.data);
    }

    /// A photo carrying GPS coordinates in its EXIF comes out of our encoders without them.
    #[test]
    fn written_images_carry_no_metadata_of_the_input() {
        let mut jpeg = Vec::new();
        image::RgbImage::from_pixel(8, 8, image::Rgb([90, 120, 150]))
            .write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
            .unwrap();
        // EXIF with a GPS IFD (tag 0x8825) holding GPSLatitudeRef = "N" (tag 1, ASCII).
        let tiff: &[u8] = &[
            b'I', b'I', 42, 0, 8, 0, 0, 0, // header, IFD0 at 8
            1, 0, 0x25, 0x88, 4, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0, 0, 0, 0, // IFD0: GPS IFD at 26
            1, 0, 1, 0, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0, 0, 0, 0, 0, // GPS IFD: LatitudeRef "N"
        ];
        let photo = with_exif(&jpeg, tiff);
        let image = Image::decode(&photo, 1 << 20).unwrap();
        let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        assert!(contains(&photo, b"Exif") && contains(&photo, &[0x25, 0x88]), "the input has its GPS block");
        for (format, bytes) in [
            ("png", image.encode_png().unwrap()),
            ("jpeg", image.encode_jpeg(90).unwrap()),
            ("webp", image.encode_webp().unwrap()),
        ] {
            assert!(!contains(&bytes, b"Exif") && !contains(&bytes, &[0x25, 0x88]), "{format} output carries EXIF/GPS");
            assert!(!contains(&bytes, b"eXIf") && !contains(&bytes, b"XMP"), "{format} output carries metadata");
            assert_eq!(Image::decode(&bytes, 1 << 20).unwrap().width, 8, "{format} output decodes");
        }
        let too_wide = Image { width: 70_000, height: 1, data: vec![0.0; 70_000 * 3] };
        assert!(matches!(too_wide.encode_jpeg(90), Err(ImageError::Encode(_))));
    }

    /// Grey, grey+alpha, RGBA and 16-bit sources all arrive as RGB on 0–255.
    #[test]
    fn colour_types_become_rgb() {
        let png = |img: image::DynamicImage| {
            let mut bytes = Vec::new();
            img.write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
            Image::decode(&bytes, 1 << 20).unwrap().data[..3].to_vec()
        };
        assert_eq!(png(image::GrayImage::from_pixel(2, 2, image::Luma([77])).into()), [77.0; 3]);
        assert_eq!(png(image::GrayAlphaImage::from_pixel(2, 2, image::LumaA([77, 10])).into()), [77.0; 3]);
        assert_eq!(png(image::RgbaImage::from_pixel(2, 2, image::Rgba([1, 2, 3, 0])).into()), [1.0, 2.0, 3.0]);
        let deep = image::ImageBuffer::<image::Rgb<u16>, _>::from_pixel(2, 2, image::Rgb([65535, 0, 32896]));
        assert_eq!(png(deep.into()), [255.0, 0.0, 128.0]);
    }

    /// A CMYK JPEG (Adobe, as print workflows write them; `fixtures/astronaut-cmyk.jpg`, the
    /// public-domain astronaut averaged over 8×8 blocks to 64×64 and converted by Pillow)
    /// decodes to the RGB it was made from, within JPEG's error.
    #[test]
    fn cmyk_jpegs_become_rgb() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/");
        let cmyk = Image::decode(&std::fs::read(format!("{root}astronaut-cmyk.jpg")).unwrap(), 1 << 20).unwrap();
        let rgb = Image::decode(&std::fs::read(format!("{root}astronaut.png")).unwrap(), 1 << 20).unwrap();
        assert_eq!((cmyk.width, cmyk.height), (64, 64));
        let mut reference = vec![0.0; 64 * 64 * 3];
        for (i, v) in rgb.data.iter().enumerate() {
            let (x, y, c) = (i / 3 % 512, i / 3 / 512, i % 3);
            reference[((y / 8) * 64 + x / 8) * 3 + c] += v / 64.0;
        }
        let mean_error =
            cmyk.data.iter().zip(&reference).map(|(a, b)| (a - b).abs()).sum::<f32>() / cmyk.data.len() as f32;
        // Measured 2.3 with Pillow's own decoder; inverted (Adobe) CMYK would be off by ~100.
        assert!(mean_error < 4.0, "mean error {mean_error} grey levels: CMYK was not converted right");
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
