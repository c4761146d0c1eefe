;;; eglot.el --- drives Emacs + eglot against the lockpath language server, for test/e2e/eglot.test.ts  -*- lexical-binding: t -*-
;;
;;   emacs --batch -Q -l test/e2e/eglot.el
;;
;; with LOCKPATH_ROOT (the example folder), LOCKPATH_CMD (the server command, a JSON array) and LOCKPATH_WAIT_MS
;; (the bound of each wait).  Writes one JSON object per line to stdout as each step answers; the test parses them
;; and checks their contents.  Exits 1 when a step cannot be done at all.  Debian's Emacs 28 with eglot 1.9
;; (elpa-eglot): eglot has no code-lens UI, so the lenses are asked for over eglot's own connection.

(require 'cl-lib)
(require 'json)
(require 'subr-x)
(add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa")
(package-initialize)
(require 'eglot)

(defvar lp-bound (/ (string-to-number (or (getenv "LOCKPATH_WAIT_MS") "120000")) 1000.0))
(defvar lp-statuses nil "lockpath/status notifications, newest first.")
(defconst lp-mmu "virt/kvm/arm/mmu.c")

(defun lp-emit (&rest plist)
  (princ (concat (json-encode plist) "\n")))

(cl-defmethod eglot-handle-notification (_server (_method (eql lockpath/status)) &rest params)
  (push params lp-statuses))

(defun lp-wait (what pred)
  "Wait up to the bound for PRED, serving the server meanwhile; return the seconds waited."
  (let ((start (float-time)))
    (while (and (not (funcall pred)) (< (- (float-time) start) lp-bound))
      (accept-process-output nil 0.02))
    (unless (funcall pred)
      (error "Timed out after %.0f s waiting for %s (last lockpath/status: %S)" lp-bound what (car lp-statuses)))
    (- (float-time) start)))

(defun lp-line-of (needle)
  "The 0-based line and column of the first NEEDLE (plain text) in the buffer."
  (save-excursion
    (goto-char (point-min))
    (unless (search-forward needle nil t) (error "Not in the buffer: %s" needle))
    (goto-char (match-beginning 0))
    (cons (1- (line-number-at-pos)) (current-column))))

(defun lp-diagnostics ()
  "The buffer's flymake diagnostics from eglot, with the LSP diagnostic eglot keeps beside each."
  (vconcat
   (cl-loop for d in (flymake-diagnostics)
            for lsp = (cdr (assoc 'eglot-lsp-diag (eglot--diag-data d)))
            collect (list :line (1- (line-number-at-pos (flymake-diagnostic-beg d)))
                          :type (symbol-name (flymake-diagnostic-type d))
                          :text (flymake-diagnostic-text d)
                          :code (plist-get lsp :code)
                          :findings (or (plist-get (plist-get lsp :data) :findings) [])))))

(defun lp-main ()
  (let* ((root (or (getenv "LOCKPATH_ROOT") (error "LOCKPATH_ROOT is not set")))
         (cmd (append (json-read-from-string (or (getenv "LOCKPATH_CMD") (error "LOCKPATH_CMD is not set"))) nil))
         (t0 (float-time))
         (eglot-sync-connect t)
         (eglot-connect-timeout lp-bound)
         (eglot-autoshutdown nil)
         server)
    (find-file (expand-file-name lp-mmu root))
    (c-mode)
    (setq server (eglot '(c-mode) (cons 'transient (file-name-as-directory root)) 'eglot-lsp-server cmd "c"))
    (unless (and server (jsonrpc-running-p server)) (error "eglot did not connect to %S" cmd))
    (lp-emit :step "initialized" :ms (* 1000 (- (float-time) t0))
             :hover (if (eglot--server-capable :hoverProvider) t :json-false)
             :codeLens (if (eglot--server-capable :codeLensProvider) t :json-false)
             :codeAction (if (eglot--server-capable :codeActionProvider) t :json-false))

    ;; Diagnostics, as flymake shows them, once the whole folder is analysed.
    (let ((s (lp-wait "diagnostics on mmu.c and an idle status"
                      (lambda () (and (flymake-diagnostics) (equal (plist-get (car lp-statuses) :state) "idle"))))))
      (lp-emit :step "diagnostics" :ms (* 1000 s) :diagnostics (lp-diagnostics)
               :findings (plist-get (car lp-statuses) :findings)))

    ;; Hover on kvm_set_spte_hva's name in its definition, over eglot's connection.
    (let* ((at (lp-line-of "void kvm_set_spte_hva("))
           (h (save-excursion
                (goto-char (point-min))
                (forward-line (car at))
                (forward-char (+ (cdr at) 6))
                (jsonrpc-request server :textDocument/hover (eglot--TextDocumentPositionParams))))
           (contents (plist-get h :contents)))
      (lp-emit :step "hover" :line (car at)
               :text (cond ((stringp contents) contents) ((plist-get contents :value)) (t (format "%S" contents)))))

    ;; References on the root (what xref asks for): every access to kvm->arch.pgd, over eglot's connection.
    (let* ((at (lp-line-of "if (!kvm->arch.pgd)"))
           (refs (save-excursion
                   (goto-char (point-min))
                   (search-forward "if (!kvm->arch.pgd)")
                   (backward-char (length "pgd)"))
                   (jsonrpc-request server :textDocument/references
                                    (append (eglot--TextDocumentPositionParams)
                                            (list :context (list :includeDeclaration t)))))))
      (lp-emit :step "references" :line (car at) :count (length refs)
               :files (vconcat (delete-dups (cl-loop for r across refs
                                                     collect (car (last (split-string (plist-get r :uri) "/"))))))))

    ;; Code lenses: no UI in eglot 1.9; the request still goes through eglot's connection.
    (let* ((age (car (lp-line-of "int kvm_age_hva(")))
           (lenses (jsonrpc-request server :textDocument/codeLens (list :textDocument (eglot--TextDocumentIdentifier)))))
      (lp-emit :step "codelens" :age_line age
               :lenses (vconcat (cl-loop for l across lenses
                                         collect (list :line (plist-get (plist-get (plist-get l :range) :start) :line)
                                                       :title (plist-get (plist-get l :command) :title))))))

    ;; Code actions over the race's region, as `eglot-code-actions' asks (with flymake's diagnostics there).
    (let* ((d (or (cl-find-if (lambda (x) (eq (flymake-diagnostic-type x) 'eglot-error)) (flymake-diagnostics))
                  (error "No error diagnostic to ask code actions for")))
           (actions (eglot-code-actions (flymake-diagnostic-beg d) (flymake-diagnostic-end d)))
           (first (car actions))
           (before (car lp-statuses))
           (text-before (buffer-string)))
      (lp-emit :step "codeaction" :line (1- (line-number-at-pos (flymake-diagnostic-beg d)))
               :actions (vconcat (cl-loop for a in actions
                                          collect (list :title (plist-get a :title) :kind (plist-get a :kind)
                                                        :isPreferred (if (eq (plist-get a :isPreferred) t) t :json-false)
                                                        :hasEdit (if (plist-get a :edit) t :json-false)))))
      (unless (plist-get first :edit) (error "The first code action has no edit"))
      ;; Apply the first action's edit the way eglot applies a chosen action.
      (eglot--apply-workspace-edit (plist-get first :edit))
      ;; eglot sends didChange and flymake re-checks from idle timers, which never fire in --batch: run both now.
      (eglot--signal-textDocument/didChange)
      (let ((s (lp-wait "the analysis of the edited text"
                        (lambda () (and (not (eq (car lp-statuses) before))
                                        (equal (plist-get (car lp-statuses) :state) "idle")
                                        (not (equal (plist-get (car lp-statuses) :findings) (plist-get before :findings))))))))
        (flymake-start)
        (lp-wait "flymake to drop the kvm_age_hva diagnostic"
                 (lambda () (not (cl-some (lambda (d) (string-match-p "kvm_age_hva (clear" (flymake-diagnostic-text d)))
                                          (flymake-diagnostics)))))
        (let* ((age (car (lp-line-of "int kvm_age_hva(")))
               (body (save-excursion
                       (goto-char (point-min))
                       (forward-line age)
                       (buffer-substring-no-properties (point) (progn (forward-line 14) (point))))))
          (lp-emit :step "applied" :ms (* 1000 s) :title (plist-get first :title)
                   :changed (if (equal text-before (buffer-string)) :json-false t)
                   :age_hva body :findings (plist-get (car lp-statuses) :findings)
                   :diagnostics (lp-diagnostics)))))

    (ignore-errors (eglot-shutdown server))
    (lp-emit :step "done" :ms (* 1000 (- (float-time) t0)))))

(condition-case err
    (progn (lp-main) (kill-emacs 0))
  (error
   (lp-emit :step "fail" :message (error-message-string err))
   (kill-emacs 1)))
