//! One photo's protection, as the worker drives it: the loaded models, the photo in hand, the
//! target of an impersonation, the person's other photos and the last result. Held behind `Rc`s so that a call in flight
//! never holds a borrow across an `await` (a second call then gets a "busy" error, not a panic).

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::rc::Rc;

use burn::tensor::Device;
use facecloak_device::BackendInfo;
use facecloak_face::{Detector, Faces, Image, Landmarker, find_faces};
use facecloak_protect::{
    Job, ProtectReport, ProtectRequest, Reference, RequestError, StepProgress, Surrogate, Wardrobe,
};

/// Everything the engine keeps between calls.
#[derive(Default)]
pub struct Session {
    pub detector: Option<Rc<Detector>>,
    pub landmarker: Option<Rc<Landmarker>>,
    /// The landmarker's models as loaded, so that facemesh and iris may come in either order.
    pub facemesh_model: Option<facecloak_tfjs::Model>,
    pub iris_model: Option<facecloak_tfjs::Model>,
    /// In [`facecloak_protect::RECOGNIZERS`] order, on the search device: the request says
    /// which the search attacks and which only judge.
    pub recognizers: Vec<Rc<Surrogate>>,
    pub photo: Option<Rc<Photo>>,
    /// The impersonation target's embedding per recognizer (in `recognizers` order).
    pub target: Option<Rc<Vec<Vec<f32>>>>,
    /// The person's other photos, as the recognizers embedded them (at most
    /// [`facecloak_protect::MAX_REFERENCES`]).
    pub references: Vec<Reference>,
    /// The looks worn in the set the page is protecting (one look per person across it).
    pub wardrobe: Rc<RefCell<Wardrobe>>,
    pub protected: Option<Rc<Image>>,
    /// Set while a protection runs.
    pub busy: bool,
}

/// A decoded photo and what was found in it.
pub struct Photo {
    pub image: Image,
    pub found: Faces,
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
    #[error(transparent)]
    Reference(#[from] facecloak_protect::ReferenceError),
    #[error("unknown format {0:?} (png or jpeg)")]
    Format(String),
    #[error(transparent)]
    Protect(#[from] RequestError),
    #[error(transparent)]
    Image(#[from] facecloak_face::ImageError),
    #[error(transparent)]
    Model(#[from] facecloak_face::ModelError),
    #[error(transparent)]
    Load(#[from] facecloak_tfjs::LoadError),
    #[error(transparent)]
    Surrogate(#[from] facecloak_protect::SurrogateError),
    #[error("{0}")]
    Request(String),
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
    Ok(Rc::new(Photo { image, found }))
}

/// Analyses a photo of the person to impersonate and keeps its largest face's embedding by
/// every recognizer; returns how many faces it had.
pub async fn set_target(session: &RefCell<Session>, bytes: &[u8], max_pixels: u64) -> Result<usize, SessionError> {
    let photo = analyse(session, bytes, max_pixels)?;
    let (face, mesh) = photo.found.largest().ok_or(SessionError::NoTargetFace)?;
    let recognizers = session.try_borrow().map_err(|_| SessionError::Busy)?.recognizers.clone();
    let mut target = Vec::with_capacity(recognizers.len());
    for recognizer in &recognizers {
        target.push(recognizer.embed_face_async(&photo.image, face, mesh).await?);
    }
    session.try_borrow_mut().map_err(|_| SessionError::Busy)?.target = Some(Rc::new(target));
    Ok(photo.found.faces.len())
}

/// Analyses another photo of the person, called `name`, and keeps its largest face's
/// embedding by every recognizer, for checking protections against; returns how many faces
/// it had.
pub async fn add_reference(
    session: &RefCell<Session>,
    bytes: &[u8],
    name: &str,
    max_pixels: u64,
) -> Result<usize, SessionError> {
    let recognizers = {
        let s = session.try_borrow().map_err(|_| SessionError::Busy)?;
        if s.references.len() >= facecloak_protect::MAX_REFERENCES {
            return Err(facecloak_protect::ReferenceError::TooMany.into());
        }
        s.recognizers.clone()
    };
    if recognizers.is_empty() {
        return Err(SessionError::NotLoaded("a recognizer"));
    }
    let photo = analyse(session, bytes, max_pixels)?;
    let refs: Vec<&Surrogate> = recognizers.iter().map(Rc::as_ref).collect();
    let reference = Reference::embed_async(name, &photo.image, &photo.found, &refs).await?;
    session.try_borrow_mut().map_err(|_| SessionError::Busy)?.references.push(reference);
    Ok(photo.found.faces.len())
}

/// Carries out `request` on the analysed photo with the loaded recognizers (and the person's
/// other photos, when any were added).
pub async fn protect(
    session: &RefCell<Session>,
    backend: &BackendInfo,
    request: &ProtectRequest,
    progress: &mut dyn FnMut(&StepProgress, Option<&Image>) -> ControlFlow<()>,
) -> Result<(Image, ProtectReport), SessionError> {
    let (photo, recognizers, target, references, wardrobe) = {
        let mut s = session.try_borrow_mut().map_err(|_| SessionError::Busy)?;
        if s.recognizers.is_empty() {
            return Err(SessionError::NotLoaded("a recognizer"));
        }
        // The last result goes now, not when this one replaces it: one photo-sized copy less
        // at the peak, which is what bounds the photos a browser can take.
        s.protected = None;
        (
            s.photo.clone().ok_or(SessionError::NoPhoto)?,
            s.recognizers.clone(),
            s.target.clone(),
            s.references.clone(),
            Rc::clone(&s.wardrobe),
        )
    };
    let makeup = request.makeup.resolve()?;
    let refs: Vec<&Surrogate> = recognizers.iter().map(Rc::as_ref).collect();
    let job = Job {
        photo: &photo.image,
        found: &photo.found,
        recognizers: &refs,
        target: target.as_deref().map(Vec::as_slice),
        references: &references,
        wardrobe: Some(&wardrobe),
        backend,
    };
    Ok(facecloak_protect::run_async(request, &makeup, &job, progress).await?)
}

/// Marks the session busy for as long as it lives: a second protection while one runs is
/// refused, and the mark goes however the first one ends.
pub struct Busy<'a>(&'a RefCell<Session>);

impl<'a> Busy<'a> {
    /// Claims the session, or says it is busy.
    pub fn claim(session: &'a RefCell<Session>) -> Result<Busy<'a>, SessionError> {
        let mut s = session.try_borrow_mut().map_err(|_| SessionError::Busy)?;
        if s.busy {
            return Err(SessionError::Busy);
        }
        s.busy = true;
        Ok(Busy(session))
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.0.try_borrow_mut() {
            s.busy = false;
        }
    }
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
