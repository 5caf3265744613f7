//! How tightly FaceRecognitionNet wants its face: same- vs different-person ROC AUC of its
//! descriptors on the labelled single-person photos of `../shared/faces`, for chips that put
//! the five points on the ArcFace template shrunk by each zoom (`align::chip_similarity`).
//!
//!   cargo run -p facecloak-face --example chip_zoom

use burn::tensor::{Tensor, TensorData};
use facecloak_device::{Backend, CpuBackend};
use facecloak_face::align::{CHIP_SIDE, chip_similarity};
use facecloak_face::mesh::five_points;
use facecloak_face::{Detector, Image, Landmarker, find_faces};
use facecloak_testdata::{face_api_models, human_models, labelled_faces, load_face_recognition_net, load_model};
use facecloak_tfjs::Executor;

const ZOOMS: [f32; 6] = [0.8, 0.9, 1.0, 1.1, 1.2, 1.3];

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt())
}

fn main() {
    let (Some(models), Some(face_api), Some(faces)) = (human_models(), face_api_models(), labelled_faces()) else {
        std::process::exit(1)
    };
    let device = Backend::cpu(CpuBackend::Flex).device().clone();
    let detector = Detector::new(load_model(&models, "blazeface"), &device).unwrap();
    let landmarker = Landmarker::new(load_model(&models, "facemesh"), &device).unwrap();
    let net = Executor::new(load_face_recognition_net(&face_api), &device).unwrap();
    let mut embeddings: Vec<Vec<(String, Vec<f32>)>> = vec![Vec::new(); ZOOMS.len()];
    for face in &faces {
        let image = Image::decode(&std::fs::read(&face.path).unwrap(), Image::DEFAULT_MAX_PIXELS).unwrap();
        let found = find_faces(&detector, &landmarker, &image).unwrap();
        let Some((_, mesh)) = found.faces.first() else { continue };
        for (z, zoom) in ZOOMS.iter().enumerate() {
            let crop = chip_similarity(&five_points(&mesh.points), *zoom).unwrap().warp(&image, CHIP_SIDE, CHIP_SIDE);
            let x = Tensor::<4>::from_data(TensorData::new(crop.data, [1, CHIP_SIDE, CHIP_SIDE, 3]), &device);
            let out = net.run(&[("input", x)]).unwrap();
            let v = out[0].tensor.clone().into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
            embeddings[z].push((face.identity.clone(), v));
        }
    }
    for (z, zoom) in ZOOMS.iter().enumerate() {
        let e = &embeddings[z];
        let (mut same, mut different) = (Vec::new(), Vec::new());
        for i in 0..e.len() {
            for j in i + 1..e.len() {
                let s = cosine(&e[i].1, &e[j].1);
                if e[i].0 == e[j].0 { same.push(s) } else { different.push(s) }
            }
        }
        let wins: f64 = same.iter().map(|s| different.iter().map(|d| f64::from(u8::from(s > d))).sum::<f64>()).sum();
        let auc = wins / (same.len() * different.len()) as f64;
        println!(
            "zoom {zoom:.1}: AUC {auc:.4} ({} same-person, {} different-person pairs)",
            same.len(),
            different.len()
        );
    }
}
