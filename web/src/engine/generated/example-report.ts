// Generated from the Rust types by facecloak_protect::typescript; do not edit.
// `FACECLOAK_WRITE_TYPES=1 cargo test --workspace --test typescript` writes it again.

import type { ProtectReport } from './types';

export const exampleReport: ProtectReport = {
  "input": "portrait.jpg",
  "output": "protected/portrait.jpg",
  "width": 640,
  "height": 480,
  "request": {
    "makeup": {
      "prompt": "berry lipstick, sparkly"
    },
    "strength": "high",
    "mode": "impersonate",
    "faces": [
      0
    ],
    "seed": 7,
    "preview_every": 10,
    "expert": {
      "steps": 40,
      "margin": 0.25,
      "no_eot": true
    }
  },
  "makeup": {
    "asked": {
      "prompt": "berry lipstick, sparkly"
    },
    "prompt": "berry lipstick, sparkly",
    "not_understood": [
      "sparkly"
    ],
    "no_region": []
  },
  "settings": {
    "max_steps": 40,
    "margin": 0.5,
    "learning_rate": 0.1,
    "naturalness": 0.25,
    "structure": 2.0,
    "patience": 5,
    "eot": true,
    "colour_budget_delta_e": 16.0
  },
  "backend": {
    "kind": "cpu",
    "name": "flex",
    "adapter": "burn-flex",
    "fallback_reason": "the CPU was asked for"
  },
  "faces": [
    {
      "box": {
        "x": 120.0,
        "y": 80.0,
        "width": 240.0,
        "height": 300.0,
        "score": 0.98
      },
      "steps": 40,
      "converged": true,
      "cancelled": false,
      "skipped": false,
      "seconds": 8.5,
      "recognizers": [
        {
          "name": "mobileface",
          "threshold": 0.5,
          "before": 0.125,
          "after": 0.625,
          "verdict": "protected"
        }
      ],
      "look": {
        "pigments": [
          {
            "name": "lipstick",
            "requested": true,
            "target": [
              142.0,
              38.0,
              78.0
            ],
            "applied": [
              150.0,
              40.0,
              80.0
            ],
            "delta_e": 3.5,
            "coverage": 0.75
          }
        ],
        "light": [
          [
            "cheekbones",
            -4.0
          ]
        ],
        "foundation": [
          1.0,
          0.5
        ],
        "lip_line": 0.5,
        "wing": 0.0
      },
      "naturalness": {
        "symmetry": 1.25,
        "symmetry_cheeks": 1.0,
        "symmetry_eyelids": 1.25,
        "asymmetry": 0.25,
        "bare_skin_hue": 0.5,
        "lip_spill": 0.0625,
        "eye_spill": 0.03125,
        "fine_energy": 0.5,
        "mean_change": 3.0
      },
      "over_limits": []
    }
  ],
  "too_small": [
    {
      "x": 120.0,
      "y": 80.0,
      "width": 240.0,
      "height": 300.0,
      "score": 0.98
    }
  ],
  "ssim": 0.984375,
  "psnr_db": 41.5,
  "seconds": 9.25,
  "naturalness_limits": {
    "symmetry": 2.0,
    "bare_skin_hue": 1.0,
    "spill": 0.1
  },
  "protocol": "cosine similarity between the face and the target's face, per recognizer, before and after protection; above the threshold, the recognizer takes them for the same person. Thresholds at a 1 % false-accept rate: cosine of embeddings of all different-person pairs among the 52 labelled single-person photos of ../shared/faces (MANIFEST.csv; 14 people, 1,239 pairs); crops straight from the photo (faceres: loose 224 around the blazeface box; mobileface and mobilefacenet: ArcFace 112 from facemesh's five points; face-recognition-net: the 150 chip from the same five points); threshold = the score that at most FAR × pairs exceed; `facecloak calibrate` recomputes"
};
