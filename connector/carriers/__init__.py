"""Parcel tracking sources (Sendcloud, MyParcel, DHL, PostNL), one folder each with the same file names as
``connector/platforms/``, mapped to one vocabulary of carrier events."""
