//! One photo's protection, as the worker drives it: the loaded models, the photo in hand, the
//! target of an impersonation and the last result. Held behind `Rc`s so that a call in flight
//! never holds a borrow across an `await` (a second call then gets a "busy" error, not a panic).

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::Device;
use facecloak_face::{Detector, Face, Image, Landmarker, Mesh, find_faces};
use facecloak_protect::Surrogate;
use serde::Serialize;

/// Everything the engine keeps between calls.
#[derive(Default)]
pub struct Session {
    pub detector: Option<Rc<Detector>>,
    pub landmarker: Option<Rc<Landmarker>>,
    /// The landmarker's models as loaded, so that facemesh and iris may come in either order.
    pub facemesh_model: Option<facecloak_tfjs::Model>,
    pub iris_model: Option<facecloak_tfjs::Model>,
    /// In [`facecloak_protect::RECOGNIZERS`] order, on the search device.
    pub surrogates: Vec<Rc<Surrogate>>,
    pub photo: Option<Rc<Photo>>,
    /// The impersonation target's embedding per surrogate (in `surrogates` order).
    pub target: Option<Rc<Vec<Vec<f32>>>>,
    pub protected: Option<Rc<Image>>,
    /// Set while a protection runs.
    pub busy: bool,
}

/// A decoded photo and what was found in it.
pub struct Photo {
    pub image: Image,
    pub faces: Vec<(Face, Mesh)>,
    pub too_small: Vec<Face>,
}

/// A face as the page draws it.
#[derive(Serialize)]
pub struct FaceBox {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    pub score: f32,
}

impl From<&Face> for FaceBox {
    fn from(face: &Face) -> FaceBox {
        FaceBox {
            x: face.center.x - face.width / 2.0,
            y: face.center.y - face.height / 2.0,
            width: face.width,
            height: face.height,
            score: face.score,
        }
    }
}

/// What `analyse` reports.
#[derive(Serialize)]
pub struct Analysis {
    pub width: usize,
    pub height: usize,
    pub faces: Vec<FaceBox>,
    /// Faces found but too small to protect (below `facecloak_face::MIN_FACE_SIZE` pixels).
    pub too_small: Vec<FaceBox>,
    pub min_face_size: f32,
}

/// Why the engine refuses a call.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("the face models are not loaded yet ({0} is missing)")]
    NotLoaded(&'static str),
    #[error("no photo has been analysed yet")]
    NoPhoto,
    #[error("nothing has been protected yet")]
    NothingProtected,
    #[error("the engine is busy protecting a photo")]
    Busy,
    #[error("no face found in the target photo")]
    NoTargetFace,
    #[error("impersonation needs a target photo")]
    NoTarget,
    #[error("no face to protect: {0}")]
    NoFace(String),
    #[error(transparent)]
    Image(#[from] facecloak_face::ImageError),
    #[error(transparent)]
    Model(#[from] facecloak_face::ModelError),
    #[error(transparent)]
    Load(#[from] facecloak_tfjs::LoadError),
    #[error(transparent)]
    Surrogate(#[from] facecloak_protect::SurrogateError),
    #[error(transparent)]
    Protect(#[from] facecloak_protect::ProtectError),
    #[error("{0}")]
    Invalid(String),
}

/// Decodes `bytes` and finds its faces on `cpu` (face finding reads its results synchronously,
/// which only a CPU backend can do in a browser).
pub fn analyse(session: &RefCell<Session>, bytes: &[u8], max_pixels: u64) -> Result<Rc<Photo>, SessionError> {
    let (detector, landmarker) = {
        let s = session.borrow();
        (
            s.detector.clone().ok_or(SessionError::NotLoaded("blazeface"))?,
            s.landmarker.clone().ok_or(SessionError::NotLoaded("facemesh"))?,
        )
    };
    let image = Image::decode(bytes, max_pixels)?;
    let found = find_faces(&detector, &landmarker, &image)?;
    Ok(Rc::new(Photo { image, faces: found.faces, too_small: found.too_small }))
}

/// The largest face of a photo.
pub fn largest(photo: &Photo) -> Option<&(Face, Mesh)> {
    facecloak_face::largest(&photo.faces)
}

/// The CPU device of face finding.
pub fn cpu() -> Device {
    facecloak_device::Backend::cpu(Default::default()).device().clone()
}

/// RGBA bytes of an image (for `ImageData`).
pub fn rgba(image: &Image) -> Vec<u8> {
    let mut out = Vec::with_capacity(image.width * image.height * 4);
    for pixel in image.data.chunks_exact(3) {
        out.extend(pixel.iter().map(|v| v.round().clamp(0.0, 255.0) as u8));
        out.push(255);
    }
    out
}
