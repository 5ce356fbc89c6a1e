"""DICOMweb (PS3.18) wire formats: media types, multipart, URIs and the DICOM JSON Model."""
