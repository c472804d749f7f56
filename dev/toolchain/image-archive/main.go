// image-archive writes a one-layer container image as an OCI image-layout tar archive, the form
// `ctr -n k8s.io images import` takes. The local clusters have no registry and can pull nothing,
// so every image their nodes run is built on this machine and imported into each node's containerd.
//
//	image-archive -layer layer.tar -name plumr.local/tools:0123456789ab \
//	    -env PATH=/usr/bin:/bin [-entrypoint /pause] -out tools.tar
package main

import (
	"archive/tar"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, " ") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var entrypoint, env list
	layer := flag.String("layer", "", "the image's filesystem as an uncompressed tar file")
	name := flag.String("name", "", "the full image name the archive imports as, e.g. plumr.local/tools:<tag>")
	out := flag.String("out", "", "the archive to write")
	flag.Var(&entrypoint, "entrypoint", "one entrypoint word (repeat for each)")
	flag.Var(&env, "env", "one KEY=VALUE environment entry (repeat for each)")
	flag.Parse()
	if *layer == "" || *name == "" || *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := write(*layer, *name, *out, entrypoint, env); err != nil {
		fmt.Fprintf(os.Stderr, "image-archive: %v\n", err)
		os.Exit(1)
	}
}

func write(layerFile, name, out string, entrypoint, env []string) error {
	layer, err := tarball.LayerFromFile(layerFile, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return err
	}
	// OCI media types throughout: containerd takes Docker's too, but mixing them in one manifest
	// is invalid.
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	// containerd unpacks only the images whose config matches the node's platform, so these two
	// must be set or the import succeeds and the image is silently unusable.
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.Entrypoint, cfg.Config.Env = entrypoint, env
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return err
	}

	dir, err := os.MkdirTemp(filepath.Dir(out), ".image-archive-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	// ctr names the imported image after these annotations; without them it would import the
	// content under no name at all and the kubelet would not find it.
	err = path.AppendImage(img,
		layout.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}),
		layout.WithAnnotations(map[string]string{"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name}))
	if err != nil {
		return err
	}
	// Written next to the destination and renamed, so an interrupted run leaves no archive that
	// looks complete.
	tmp := out + ".tmp"
	if err := tarDir(dir, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, out)
}

// tarDir archives the layout directory's contents with paths relative to it (oci-layout,
// index.json, blobs/sha256/...).
func tarDir(dir, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		// The layout's own modes are those of temporary files; readable by all is what tools expect.
		hdr.Name, hdr.Mode, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = filepath.ToSlash(rel), 0o644, 0, 0, "", ""
		if d.IsDir() {
			hdr.Name, hdr.Mode = hdr.Name+"/", 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil || !info.Mode().IsRegular() {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}
