"""The skeleton layouts tdf ships, as plain data (tdf.skeleton builds and checks the Layout values).

Every layout's groups follow ntu25's spirit: head, torso (where the layout has trunk joints),
left/right arm (shoulder, elbow), left/right hand (wrist and whatever the layout has below it),
left/right leg (hip down to ankle/foot); composites arms/hands/legs. Base groups of each shipped
layout partition its joints. Bones are (child, parent) and form a tree whose root is the
layout's centre unless said otherwise.
"""

from __future__ import annotations

_LR_COMPOSITES = {
    "hands": ("left_hand", "right_hand"),
    "arms": ("left_arm", "right_arm"),
    "legs": ("left_leg", "right_leg"),
}

# NTU RGB+D / Kinect v2: JointType order of the .skeleton files; bones are the standard 24-edge
# GCN list (rooted at SpineShoulder; HandTip hangs from Thumb, as in that list).
NTU25 = dict(
    name="ntu25", coords=3, bodies=2, centre="SpineShoulder", y_down=False,
    joints=(
        "SpineBase", "SpineMid", "Neck", "Head",
        "ShoulderLeft", "ElbowLeft", "WristLeft", "HandLeft",
        "ShoulderRight", "ElbowRight", "WristRight", "HandRight",
        "HipLeft", "KneeLeft", "AnkleLeft", "FootLeft",
        "HipRight", "KneeRight", "AnkleRight", "FootRight",
        "SpineShoulder", "HandTipLeft", "ThumbLeft", "HandTipRight", "ThumbRight",
    ),
    bones=(
        ("SpineBase", "SpineMid"), ("SpineMid", "SpineShoulder"), ("Neck", "SpineShoulder"),
        ("Head", "Neck"), ("ShoulderLeft", "SpineShoulder"), ("ElbowLeft", "ShoulderLeft"),
        ("WristLeft", "ElbowLeft"), ("HandLeft", "WristLeft"), ("ShoulderRight", "SpineShoulder"),
        ("ElbowRight", "ShoulderRight"), ("WristRight", "ElbowRight"), ("HandRight", "WristRight"),
        ("HipLeft", "SpineBase"), ("KneeLeft", "HipLeft"), ("AnkleLeft", "KneeLeft"),
        ("FootLeft", "AnkleLeft"), ("HipRight", "SpineBase"), ("KneeRight", "HipRight"),
        ("AnkleRight", "KneeRight"), ("FootRight", "AnkleRight"), ("HandTipLeft", "ThumbLeft"),
        ("ThumbLeft", "HandLeft"), ("HandTipRight", "ThumbRight"), ("ThumbRight", "HandRight"),
    ),
    groups={
        "head": ("Head", "Neck"),
        "torso": ("SpineBase", "SpineMid", "SpineShoulder"),
        "left_arm": ("ShoulderLeft", "ElbowLeft"),
        "right_arm": ("ShoulderRight", "ElbowRight"),
        "left_hand": ("WristLeft", "HandLeft", "HandTipLeft", "ThumbLeft"),
        "right_hand": ("WristRight", "HandRight", "HandTipRight", "ThumbRight"),
        "left_leg": ("HipLeft", "KneeLeft", "AnkleLeft", "FootLeft"),
        "right_leg": ("HipRight", "KneeRight", "AnkleRight", "FootRight"),
    },
    composites=_LR_COMPOSITES,
)

# Kinect for Windows SDK v1 (NUI_SKELETON_POSITION_INDEX order; MSR Action3D, NW-UCLA). Tree
# rooted at ShoulderCenter like ntu25's (ShoulderCenter plays SpineShoulder's part). Single person.
KINECT_V1_20 = dict(
    name="kinect_v1_20", coords=3, bodies=1, centre="ShoulderCenter", y_down=False,
    joints=(
        "HipCenter", "Spine", "ShoulderCenter", "Head",
        "ShoulderLeft", "ElbowLeft", "WristLeft", "HandLeft",
        "ShoulderRight", "ElbowRight", "WristRight", "HandRight",
        "HipLeft", "KneeLeft", "AnkleLeft", "FootLeft",
        "HipRight", "KneeRight", "AnkleRight", "FootRight",
    ),
    bones=(
        ("HipCenter", "Spine"), ("Spine", "ShoulderCenter"), ("Head", "ShoulderCenter"),
        ("ShoulderLeft", "ShoulderCenter"), ("ElbowLeft", "ShoulderLeft"), ("WristLeft", "ElbowLeft"),
        ("HandLeft", "WristLeft"), ("ShoulderRight", "ShoulderCenter"), ("ElbowRight", "ShoulderRight"),
        ("WristRight", "ElbowRight"), ("HandRight", "WristRight"), ("HipLeft", "HipCenter"),
        ("KneeLeft", "HipLeft"), ("AnkleLeft", "KneeLeft"), ("FootLeft", "AnkleLeft"),
        ("HipRight", "HipCenter"), ("KneeRight", "HipRight"), ("AnkleRight", "KneeRight"),
        ("FootRight", "AnkleRight"),
    ),
    groups={
        "head": ("Head",),
        "torso": ("HipCenter", "Spine", "ShoulderCenter"),
        "left_arm": ("ShoulderLeft", "ElbowLeft"),
        "right_arm": ("ShoulderRight", "ElbowRight"),
        "left_hand": ("WristLeft", "HandLeft"),
        "right_hand": ("WristRight", "HandRight"),
        "left_leg": ("HipLeft", "KneeLeft", "AnkleLeft", "FootLeft"),
        "right_leg": ("HipRight", "KneeRight", "AnkleRight", "FootRight"),
    },
    composites=_LR_COMPOSITES,
)

# COCO keypoints (2-D, image pixels, y down); up to 2 persons as pyskl keeps them. COCO has no
# trunk joints, so no torso group; shoulders hang from the nose, hips from the shoulders.
COCO17 = dict(
    name="coco17", coords=2, bodies=2, centre="nose", y_down=True,
    joints=(
        "nose", "left_eye", "right_eye", "left_ear", "right_ear",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    ),
    bones=(
        ("left_eye", "nose"), ("right_eye", "nose"), ("left_ear", "left_eye"), ("right_ear", "right_eye"),
        ("left_shoulder", "nose"), ("right_shoulder", "nose"), ("left_elbow", "left_shoulder"),
        ("right_elbow", "right_shoulder"), ("left_wrist", "left_elbow"), ("right_wrist", "right_elbow"),
        ("left_hip", "left_shoulder"), ("right_hip", "right_shoulder"), ("left_knee", "left_hip"),
        ("right_knee", "right_hip"), ("left_ankle", "left_knee"), ("right_ankle", "right_knee"),
    ),
    groups={
        "head": ("nose", "left_eye", "right_eye", "left_ear", "right_ear"),
        "left_arm": ("left_shoulder", "left_elbow"),
        "right_arm": ("right_shoulder", "right_elbow"),
        "left_hand": ("left_wrist",),
        "right_hand": ("right_wrist",),
        "left_leg": ("left_hip", "left_knee", "left_ankle"),
        "right_leg": ("right_hip", "right_knee", "right_ankle"),
    },
    composites=_LR_COMPOSITES,
)

# OpenPose COCO-18 output order (2-D, image pixels, y down); Neck (mid-shoulders) is the root.
OPENPOSE18 = dict(
    name="openpose18", coords=2, bodies=2, centre="Neck", y_down=True,
    joints=(
        "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
        "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
    ),
    bones=(
        ("Nose", "Neck"), ("RShoulder", "Neck"), ("RElbow", "RShoulder"), ("RWrist", "RElbow"),
        ("LShoulder", "Neck"), ("LElbow", "LShoulder"), ("LWrist", "LElbow"), ("RHip", "Neck"),
        ("RKnee", "RHip"), ("RAnkle", "RKnee"), ("LHip", "Neck"), ("LKnee", "LHip"), ("LAnkle", "LKnee"),
        ("REye", "Nose"), ("LEye", "Nose"), ("REar", "REye"), ("LEar", "LEye"),
    ),
    groups={
        "head": ("Nose", "REye", "LEye", "REar", "LEar"),
        "torso": ("Neck",),
        "left_arm": ("LShoulder", "LElbow"),
        "right_arm": ("RShoulder", "RElbow"),
        "left_hand": ("LWrist",),
        "right_hand": ("RWrist",),
        "left_leg": ("LHip", "LKnee", "LAnkle"),
        "right_leg": ("RHip", "RKnee", "RAnkle"),
    },
    composites=_LR_COMPOSITES,
)

SHIPPED = (NTU25, KINECT_V1_20, COCO17, OPENPOSE18)
