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
    },
    "attack": "all",
    "set": 3
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
    "fallback_reason": "the CPU was asked for",
    "threads": 1,
    "choice": null
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
          "role": "attacked",
          "threshold": 0.5,
          "before": 0.125,
          "after": 0.625,
          "verdict": "protected"
        },
        {
          "name": "face-recognition-net",
          "role": "judge",
          "threshold": 0.75,
          "before": 0.25,
          "after": 0.5,
          "verdict": "unprotected"
        }
      ],
      "verification": {
        "photos": [
          "me-at-work.jpg"
        ],
        "recognizers": [
          {
            "name": "mobileface",
            "role": "attacked",
            "threshold": 0.5,
            "references": [
              {
                "photo": "me-at-work.jpg",
                "before": 1.0,
                "after": 0.0
              }
            ],
            "outcome": "protected"
          },
          {
            "name": "face-recognition-net",
            "role": "judge",
            "threshold": 0.75,
            "references": [
              {
                "photo": "me-at-work.jpg",
                "before": 1.0,
                "after": 1.0
              }
            ],
            "outcome": "still_matches"
          }
        ],
        "summary": "partly",
        "judges": "unprotected",
        "says": "Partly protected: 1 recognizer that matched you to your other photos no longer does, but 1 recognizer still does. The independent judge face-recognition-net, which the makeup was never optimised against, still matches you."
      },
      "wore_again": true,
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
  "protocol": "cosine similarity between the face and the target's face, per recognizer, before and after protection; above the threshold, the recognizer takes them for the same person. Thresholds at a 1 % false-accept rate: cosine of embeddings of all different-person pairs among the 52 labelled single-person photos of ../shared/faces (MANIFEST.csv; 14 people, 1,239 pairs); crops straight from the photo (faceres: loose 224 around the blazeface box; mobileface and mobilefacenet: ArcFace 112 from facemesh's five points; face-recognition-net: the 150 chip from the same five points); threshold = the score that at most FAR × pairs exceed; `facecloak calibrate` recomputes",
  "transfer": {
    "measured": "2026-12-04, facecloak commit 0d9f47a, on the 12 colour face photos of the team's test set, each protected once per fold (36 protections)",
    "protocol": "leave-one-out by model family: each family is held out of the search in turn and scores only the photos protected against the others (faceres and faceres-deep are one family; face-recognition-net, never attacked, scores every fold); medium strength, the berry look, dodging; a pair is a protected photo and another photo of the same person, counted when the recognizer matched them before protection, protected when it no longer does at its FAR 1 % threshold",
    "held_out": [
      {
        "recognizer": "faceres",
        "psr": 0.286,
        "pairs": 14
      },
      {
        "recognizer": "faceres-deep",
        "psr": 0.3,
        "pairs": 10
      },
      {
        "recognizer": "mobileface",
        "psr": 0.333,
        "pairs": 6
      },
      {
        "recognizer": "mobilefacenet",
        "psr": 0.0,
        "pairs": 14
      },
      {
        "recognizer": "face-recognition-net",
        "psr": 0.367,
        "pairs": 30
      }
    ],
    "caveat": "These are small counts on a few dozen photos, not a promise. A recognizer this version never saw may still match you, and one trained later, or trained on protected photos, may match you even where these did not; the ArcFace-trained model (mobilefacenet), the kind real services resemble, was the hardest to fool."
  }
};
