// The seed's image upload endpoint (/work/shared/REFERENCE.md, "Image Processing"), as
// the reference writes it: Express + Multer diskStorage (5 MB limit, jpeg|jpg|png|pdf by
// extension and MIME type) + sharp resize to fit 800x800, JPEG quality 80, written to
// disk, answered with JSON. Started by benchmarks/image_upload.py:
//
//   node benchmarks/node/image_upload_server.mjs PORT UPLOAD_DIR
//
// Prints "listening PORT" once it serves. Nothing else is added (no auth, no database:
// the reference's File.create is not part of its image endpoint).
import express from 'express';
import multer from 'multer';
import path from 'node:path';
import fs from 'node:fs';
import sharp from 'sharp';

const port = Number(process.argv[2] || 3000);
const uploadDir = process.argv[3] || './uploads/';
fs.mkdirSync(uploadDir, { recursive: true });

const app = express();

const storage = multer.diskStorage({
  destination: uploadDir,
  filename: (req, file, cb) => {
    const uniqueName = `${Date.now()}-${file.originalname}`;
    cb(null, uniqueName);
  },
});

const upload = multer({
  storage: storage,
  limits: { fileSize: 5 * 1024 * 1024 }, // 5MB
  fileFilter: (req, file, cb) => {
    const allowedTypes = /jpeg|jpg|png|pdf/;
    const extname = allowedTypes.test(path.extname(file.originalname).toLowerCase());
    const mimetype = allowedTypes.test(file.mimetype);
    if (extname && mimetype) {
      cb(null, true);
    } else {
      cb(new Error('Invalid file type'));
    }
  },
});

app.post('/api/upload/image', upload.single('image'), async (req, res) => {
  const processedPath = `processed-${req.file.filename}`;

  await sharp(req.file.path)
    .resize(800, 800, { fit: 'inside' })
    .jpeg({ quality: 80 })
    .toFile(path.join(uploadDir, processedPath));

  res.json({
    original: req.file.filename,
    processed: processedPath,
  });
});

app.get('/healthz', (req, res) => res.send('ok'));

app.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
